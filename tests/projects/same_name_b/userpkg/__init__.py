"""Project b of two that share the package name `userpkg` (service-mode isolation test)."""
