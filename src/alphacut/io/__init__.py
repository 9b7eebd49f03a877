"""Everything that touches Pillow or the file system: read (bytes and headers within limits), decode, encode, files."""
