"""The email: the :class:`~emailkit.model.email.Email` base class, its typed fields and preview
samples, and rendering one into a message."""
