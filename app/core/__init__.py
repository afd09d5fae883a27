"""Qt-free document core: layers, edits, commands, compositing and file formats."""
