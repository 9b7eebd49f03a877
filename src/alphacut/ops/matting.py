"""Closed-form alpha matting in a trimap's unknown band, with the network's matte as a weak prior.

References:
    A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to Natural Image Matting",
    IEEE TPAMI 30(2), 2008 (the matting Laplacian, eq. 12, with 3x3 windows).

The matting Laplacian L is built only for the 3x3 windows that touch the unknown band, so the work
grows with the band, not the image. Known pixels are hard constraints; the unknown ones solve

    (L_uu + diag(w)) a_u = -L_uk a_k + w * prior_u

by conjugate gradients with a Jacobi preconditioner (no BLAS calls), started from the prior. ``w`` ties each
unknown pixel to the network's matte, strongest where the network was sure (alpha near 0 or 1),
so the network's matte is kept where the image's colours say little (a data term as in Levin et
al. sec. 6 and in learning-based matting). Larger images are solved at a capped size and brought
back with the fast guided filter (He & Sun 2015); known pixels keep the input matte exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
from numpy.typing import NDArray

from .guided import guided_upsample
from .resize import resize_image, resize_matte, resize_u8

__all__ = ["MATTING_WORK_PIXELS", "TRIMAP_BG", "TRIMAP_FG", "TRIMAP_UNKNOWN", "band_radius_px",
           "matting_laplacian", "refine_alpha", "solve_alpha", "trimap_from_alpha", "work_size_wh"]

F32 = NDArray[np.float32]

TRIMAP_BG = 0.0
TRIMAP_UNKNOWN = 0.5
TRIMAP_FG = 1.0

#: The solve runs on at most this many pixels; larger images are solved downscaled.
MATTING_WORK_PIXELS = 1_000_000
_WINDOWS_PER_CHUNK = 65_536

_OFFSETS_3X3 = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
#: For a pair (i, j) of pixels of one 3x3 window, the slot of j in row i of the 5x5 neighbourhood.
_SLOT_3X3 = np.array([[(dj - di + 2) * 5 + (ej - ei + 2) for dj, ej in _OFFSETS_3X3] for di, ei in _OFFSETS_3X3])


def band_radius_px(size_wh: tuple[int, int], *, frac: float = 0.006, min_px: int = 2) -> int:
    """How far the unknown band reaches beyond the matte's soft values: a fraction of the longer side.

    Example:
        >>> band_radius_px((854, 480))
        5
    """
    return max(min_px, round(frac * max(size_wh)))


def trimap_from_alpha(alpha: F32, *, lo: float = 0.05, hi: float = 0.95, band_px: int = 4) -> F32:
    """A trimap from a matte: FG where alpha >= hi, BG where alpha <= lo, unknown between, grown by band_px (a square).

    Args:
        alpha: H x W matte in [0, 1].
        band_px: the unknown band is dilated by a (2 band_px + 1)^2 square (0 keeps only the soft values).

    Returns:
        H x W float32 with TRIMAP_BG (0), TRIMAP_UNKNOWN (0.5) or TRIMAP_FG (1) per pixel.

    Example:
        >>> a = np.zeros((1, 7), np.float32); a[0, 3] = 0.5; a[0, 4:] = 1.0
        >>> trimap_from_alpha(a, band_px=1).tolist()
        [[0.0, 0.0, 0.5, 0.5, 0.5, 1.0, 1.0]]
    """
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"alpha must be H x W, got shape {a.shape}")
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"need 0 <= lo < hi <= 1, got lo={lo}, hi={hi}")
    fg = a >= hi
    bg = a <= lo
    unknown = ~(fg | bg)
    # An edge with no soft pixel (FG next to BG) is unknown too.
    eight = np.ones((3, 3), bool)
    unknown |= (fg & ndi.binary_dilation(bg, structure=eight)) | (bg & ndi.binary_dilation(fg, structure=eight))
    if band_px > 0 and unknown.any():  # a square window: separable, O(N) for any radius
        unknown = ndi.maximum_filter(unknown.view(np.uint8), size=2 * band_px + 1).astype(bool)
    out = np.where(fg, np.float32(TRIMAP_FG), np.float32(TRIMAP_BG)).astype(np.float32)
    out[unknown] = TRIMAP_UNKNOWN
    return out


def _window_terms(image: NDArray[np.floating], centres: NDArray[np.bool_],
                  eps: float) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """For each 3x3 window centred in `centres` (border excluded): its 9 pixel indices and 9x9 Laplacian terms."""
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape[:2]
    inner = np.zeros((h, w), dtype=bool)
    inner[1:-1, 1:-1] = centres[1:-1, 1:-1]
    k = np.flatnonzero(inner)
    offsets = np.array([dy * w + dx for dy, dx in _OFFSETS_3X3])
    nb = k[:, None] + offsets[None, :]  # M x 9 pixel indices
    d = img.reshape(-1, 3)[nb]  # M x 9 x 3 colours
    d -= d.mean(axis=1, keepdims=True)
    cov = d.transpose(0, 2, 1) @ d / 9.0 + (eps / 9.0) * np.eye(3)
    g = (d @ np.linalg.inv(cov)) @ d.transpose(0, 2, 1)  # M x 9 x 9
    vals = np.eye(9)[None] - (1.0 + g) / 9.0
    return nb, vals


def matting_laplacian(image: NDArray[np.floating], mask: NDArray[np.bool_], *,
                      eps: float = 1e-6) -> sp.csr_matrix:
    """Levin et al.'s matting Laplacian summed over the 3x3 windows whose centre lies in `mask`.

    Args:
        image: H x W x 3 image in [0, 1].
        mask: H x W; windows are centred on these pixels (border pixels are skipped).
        eps: regulariser of the window colour covariance (the paper's epsilon).

    Returns:
        (H*W) x (H*W) sparse symmetric positive semi-definite matrix, rows in raster order.

    Example:
        >>> img = np.random.default_rng(0).random((6, 6, 3))
        >>> L = matting_laplacian(img, np.ones((6, 6), bool))
        >>> bool(abs(L @ np.ones(36)).max() < 1e-9)
        True
    """
    h, w = image.shape[:2]
    nb, vals = _window_terms(image, np.asarray(mask, dtype=bool), eps)
    rows = np.broadcast_to(nb[:, :, None], vals.shape).ravel()
    cols = np.broadcast_to(nb[:, None, :], vals.shape).ravel()
    return sp.csr_matrix((vals.ravel(), (rows, cols)), shape=(h * w, h * w))


def _unknown_system(image: NDArray[np.floating], unknown: NDArray[np.bool_], known_alpha: NDArray[np.float64],
                    eps: float) -> tuple[sp.csr_matrix, NDArray[np.float64], NDArray[np.intp]]:
    """L_uu (compact, unknown pixels only), -L_uk a_k, and the unknown pixels' raster indices.

    Rows of L have at most 25 entries (offsets -2..2 in y and x); they are summed with one
    bincount over (row, offset) keys instead of a sparse-matrix duplicate sum.
    """
    h, w = unknown.shape
    touching = ndi.binary_dilation(unknown, structure=np.ones((3, 3), bool))
    touching[0, :] = touching[-1, :] = touching[:, 0] = touching[:, -1] = False  # full windows only
    u = np.flatnonzero(unknown)
    var = np.full(h * w, -1, dtype=np.intp)
    var[u] = np.arange(u.size)
    r25 = np.zeros(u.size * 25)
    centres = np.flatnonzero(touching)
    # In chunks of windows: 81 float64 terms per window would be 650 MB for a 1 MP band at once.
    for c0 in range(0, centres.size, _WINDOWS_PER_CHUNK):
        chunk = np.zeros(h * w, dtype=bool)
        chunk[centres[c0:c0 + _WINDOWS_PER_CHUNK]] = True
        nb, vals = _window_terms(image, chunk.reshape(h, w), eps)
        row_var = var[nb]  # M x 9: the unknown index of each window pixel, -1 if known
        is_row = row_var >= 0
        # Entry (i, j) of a window lands in row i at slot (dy_j - dy_i + 2) * 5 + (dx_j - dx_i + 2).
        key = np.where(is_row, row_var * 25, 0)[:, :, None] + _SLOT_3X3[None]
        v = np.where(is_row[:, :, None], vals, 0.0)
        r25 += np.bincount(key.ravel(), weights=v.ravel(), minlength=u.size * 25)
    r25_rows = r25.reshape(u.size, 25)
    slot_dy, slot_dx = np.divmod(np.arange(25), 5)
    col_pix = np.clip(u[:, None] + ((slot_dy - 2) * w + (slot_dx - 2))[None, :], 0, h * w - 1)
    col_var = var[col_pix]
    # Slots whose pixel is outside the image or in another row wrap around here, but no window holds
    # both pixels, so their value is 0 and they add nothing.
    rhs = -(r25_rows * np.where(col_var < 0, known_alpha.ravel()[col_pix], 0.0)).sum(axis=1)
    data = np.where(col_var >= 0, r25_rows, 0.0).ravel()
    indices = np.where(col_var >= 0, col_var, np.arange(u.size)[:, None]).ravel()
    a_uu = sp.csr_matrix((data, indices, np.arange(0, 25 * u.size + 1, 25)), shape=(u.size, u.size))
    return a_uu, rhs, u


def solve_alpha(image: NDArray[np.floating], trimap: F32, prior: F32, *, eps: float = 1e-6,
                prior_weight: float = 0.1, rtol: float = 1e-4, max_iter: int = 200) -> F32:
    """Closed-form matting in the trimap's unknown band; known pixels are copied from the trimap.

    Args:
        image: H x W x 3 image in [0, 1].
        trimap: H x W with TRIMAP_BG, TRIMAP_UNKNOWN, TRIMAP_FG (see trimap_from_alpha).
        prior: H x W matte in [0, 1] the unknown pixels are drawn towards, with weight
            prior_weight * ((2 * prior - 1)^2 + 0.1) per pixel (surer where near 0 or 1).
        eps: the Laplacian's colour regulariser (larger = smoother alpha).
        rtol, max_iter: conjugate-gradient stopping rule (relative residual, iterations).

    Returns:
        H x W float32 alpha in [0, 1].

    Example:
        >>> img = np.zeros((20, 20, 3)); img[:, 10:] = 1.0
        >>> tri = np.full((20, 20), 0.5, np.float32); tri[:, :3] = 0.0; tri[:, 17:] = 1.0
        >>> a = solve_alpha(img, tri, np.full((20, 20), 0.5, np.float32))
        >>> bool(a[:, :9].max() < 0.05 and a[:, 11:].min() > 0.95)
        True
    """
    tri = np.asarray(trimap, dtype=np.float32)
    p = np.asarray(prior, dtype=np.float32)
    h, w = tri.shape
    if image.shape[:2] != (h, w) or p.shape != (h, w):
        raise ValueError(f"image {image.shape}, trimap {tri.shape} and prior {p.shape} must share H x W")
    unknown = tri == np.float32(TRIMAP_UNKNOWN)
    known_alpha = (tri >= np.float32(TRIMAP_FG)).astype(np.float64)
    out = np.where(unknown, p, known_alpha.astype(np.float32)).astype(np.float32)
    if not unknown.any():
        return out
    a_uu, rhs, u = _unknown_system(image, unknown, known_alpha, eps)
    pu = p.ravel()[u].astype(np.float64)
    weight = prior_weight * ((2.0 * pu - 1.0) ** 2 + 0.1)
    rhs += weight * pu
    a = (a_uu + sp.diags(weight, format="csr")).tocsr()
    x = _conjugate_gradients(a, rhs, pu, 1.0 / a.diagonal(), rtol=rtol, max_iter=max_iter)
    out.ravel()[u] = np.clip(x, 0.0, 1.0)
    return out


def _dot(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    # einsum, not BLAS: a threaded BLAS dot can stall for tens of ms when the cores are busy.
    return float(np.einsum("i,i->", x, y))


def _conjugate_gradients(a: sp.csr_matrix, b: NDArray[np.float64], x0: NDArray[np.float64],
                         inv_diag: NDArray[np.float64], *, rtol: float, max_iter: int) -> NDArray[np.float64]:
    """Jacobi-preconditioned conjugate gradients for a symmetric positive definite `a`, from x0."""
    x = x0.copy()
    r = b - a @ x
    stop = rtol * np.sqrt(_dot(b, b))
    z = inv_diag * r
    p = z.copy()
    rz = _dot(r, z)
    for _ in range(max_iter):
        if np.sqrt(_dot(r, r)) <= stop:
            break
        ap = a @ p
        step = rz / _dot(p, ap)
        x += step * p
        r -= step * ap
        z = inv_diag * r
        rz, rz_old = _dot(r, z), rz
        p *= rz / rz_old
        p += z
    result: NDArray[np.float64] = x
    return result


def work_size_wh(size_wh: tuple[int, int], max_pixels: int = MATTING_WORK_PIXELS) -> tuple[int, int]:
    """The (w, h) the solve runs at: the image's own size, or scaled down to at most max_pixels.

    Example:
        >>> work_size_wh((4000, 3000))
        (1154, 866)
    """
    w, h = size_wh
    if w * h <= max_pixels:
        return (w, h)
    k = (max_pixels / (w * h)) ** 0.5
    return (max(8, int(w * k)), max(8, int(h * k)))


def refine_alpha(image: F32 | NDArray[np.uint8], alpha: F32, *, lo: float = 0.05, hi: float = 0.95, band_frac: float = 0.006,
                 eps: float = 1e-6, prior_weight: float = 0.1,
                 max_pixels: int = MATTING_WORK_PIXELS) -> F32:
    """Refine a matte's soft band by closed-form matting; pixels outside the band are returned unchanged.

    Images over max_pixels are solved at work_size_wh() and the solved matte is brought back with
    guided upsampling; the band is taken from the full-resolution trimap either way.

    Args:
        image: H x W x 3 image in [0, 1] (float32), or uint8 (only a band or a reduced copy is
            converted to float).
        alpha: H x W matte in [0, 1] (e.g. the network's, at the image's size).
        lo, hi, band_frac: trimap levels and band radius (a fraction of the longer side).

    Example:
        >>> img = np.zeros((40, 40, 3), np.float32); img[:, 20:] = 1.0
        >>> a = np.clip((np.arange(40, dtype=np.float32) - 12) / 16, 0, 1)[None].repeat(40, 0)
        >>> r = refine_alpha(img, a)
        >>> bool(r[:, 21:].min() > 0.9 and r[:, :19].max() < 0.1)
        True
    """
    a = np.asarray(alpha, dtype=np.float32)
    h, w = a.shape
    if image.shape[:2] != (h, w):
        raise ValueError(f"image {image.shape} and alpha {a.shape} must share H x W")
    trimap = trimap_from_alpha(a, lo=lo, hi=hi, band_px=band_radius_px((w, h), frac=band_frac))
    unknown = trimap == np.float32(TRIMAP_UNKNOWN)
    if not unknown.any():
        return a.copy()  # type: ignore[no-any-return]
    work_wh = work_size_wh((w, h), max_pixels)
    is_u8 = image.dtype == np.uint8
    if work_wh == (w, h):
        img: F32 = image.astype(np.float32) * np.float32(1 / 255) if is_u8 else image.astype(np.float32, copy=False)
        solved = solve_alpha(img, trimap, a, eps=eps, prior_weight=prior_weight)
    else:
        small_img = (resize_u8(image.astype(np.uint8, copy=False), work_wh) if is_u8
                     else resize_image(image.astype(np.float32, copy=False), work_wh))
        small_a = resize_matte(a, work_wh)
        small_tri = trimap_from_alpha(small_a, lo=lo, hi=hi, band_px=band_radius_px(work_wh, frac=band_frac))
        small = solve_alpha(small_img, small_tri, small_a, eps=eps, prior_weight=prior_weight)
        solved = guided_upsample(small, image)
    out: F32 = a.copy()
    out[unknown] = solved[unknown]
    return out
