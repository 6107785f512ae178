"""Public transactional templates converted to emailkit folders (see SOURCE.md)."""
