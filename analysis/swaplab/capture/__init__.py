"""Host side of real-kernel captures: kernels, guest initramfs, QEMU runs, parsing."""

from swaplab.capture.kernels import CaptureError, KernelImage, resolve_kernel

__all__ = ["CaptureError", "KernelImage", "resolve_kernel"]
