"""Everything that touches Pillow or the file system: decode, encode, files."""
