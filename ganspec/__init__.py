"""ganspec: turn a written GAN specification into a checked, runnable PyTorch project."""

__version__ = "0.1.0"
