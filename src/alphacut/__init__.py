"""alphacut: background removal that runs entirely on your own hardware."""
