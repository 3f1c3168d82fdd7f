"""Pure I/O adapters that talk to devices. They import nothing from the app."""
