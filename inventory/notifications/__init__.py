"""Notifications: in-app items (the bell) and email through an outbox sent by the scheduler."""
