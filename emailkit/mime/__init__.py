"""The message: MIME parts and wire bytes, header values, RFC 2047 words, addresses, embedded
images, and the options a message is built with. Imports nothing of emailkit but its errors."""
