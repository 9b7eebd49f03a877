"""Video: whole clips cut out with steady mattes (the `video` extra: PyAV + OpenCV)."""
