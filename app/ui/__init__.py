"""PySide6 editor: main window, canvas, layer panel, properties, dialogs, workers."""
