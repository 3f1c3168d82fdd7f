"""Users, roles, login sessions."""
