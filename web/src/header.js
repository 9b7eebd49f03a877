// An image's pixel size from its file header, before anything decodes it: PNG (IHDR), GIF (logical screen),
// WebP (VP8, VP8L, VP8X) and JPEG (the first SOFn marker, found by skipping segments: only a few bytes of
// each segment are read, so large EXIF or XMP blocks cost nothing). Used to refuse a decompression bomb
// with the same limit as the server (/config.json's max_pixels) in both modes.

const u16be = (b, i) => (b[i] << 8) | b[i + 1];
const u32be = (b, i) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const u16le = (b, i) => b[i] | (b[i + 1] << 8);
const u24le = (b, i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);

async function bytes(blob, start, end) {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): the frame header that holds the size. */
const isSof = (m) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

async function jpegSize(blob) {
  let pos = 2;
  for (let guard = 0; guard < 4096 && pos + 4 <= blob.size; guard++) {
    const b = await bytes(blob, pos, pos + 9);
    if (b[0] !== 0xff) return null; // not at a marker: a damaged file
    const marker = b[1];
    if (marker === 0xff) { pos += 1; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { pos += 2; continue; }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before any frame header
    if (isSof(marker)) return b.length >= 9 ? { width: u16be(b, 7), height: u16be(b, 5), format: "jpeg" } : null;
    pos += 2 + u16be(b, 2);
  }
  return null;
}

/**
 * {width, height, format} from the first bytes of a File/Blob, or null when its header is not one of
 * PNG, JPEG, WebP or GIF or is damaged (the decoder then says what is wrong). Sizes are as stored: EXIF
 * orientation may swap them, which does not change the pixel count.
 */
export async function imageSize(blob) {
  const b = await bytes(blob, 0, 32);
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && u32be(b, 12) === 0x49484452) {
    return { width: u32be(b, 16), height: u32be(b, 20), format: "png" };
  }
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return { width: u16le(b, 6), height: u16le(b, 8), format: "gif" };
  if (b.length >= 30 && String.fromCharCode(...b.subarray(0, 4)) === "RIFF" && String.fromCharCode(...b.subarray(8, 12)) === "WEBP") {
    const kind = String.fromCharCode(...b.subarray(12, 16));
    if (kind === "VP8X") return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1, format: "webp" };
    if (kind === "VP8L" && b[20] === 0x2f) {
      const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, format: "webp" };
    }
    if (kind === "VP8 " && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
      return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff, format: "webp" };
    }
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegSize(blob);
  return null;
}

/** A pixel count as alphacut's decoder writes it (io/decode.py _pixels): 100,000,000 px (100 MP). */
export function pixels(n) {
  return `${n.toLocaleString("en-US")} px (${Number((n / 1e6).toPrecision(6))} MP)`;
}

/** The one message for an image over the limit, in both modes (the server's says the same numbers). */
export function pixelLimitMessage(name, width, height, limit) {
  return `${name} is ${width}x${height} = ${pixels(width * height)}; the limit is ${pixels(limit)}. ` +
    "Downscale it first (the server's --max-pixels sets the limit).";
}
