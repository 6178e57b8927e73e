// Images as people have them (docs/reliability.md): PNG of every colour type and bit depth,
// interlaced PNG, progressive and EXIF-rotated JPEG, GIF and WebP skipped with the reason,
// decompression bombs refused from the header, odd file names. The PNGs are written here by
// a small encoder of our own (stored deflate blocks: any colour type, depth and interlace),
// independent of stb, which only decodes; the expected pixels are computed from the values
// written, by the rules of the PNG specification.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <actatlas/io/image_folder.hpp>
#include <actatlas/io/png.hpp>

#include "test_tools.hpp"

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

std::uint32_t crc32(const std::uint8_t* p, std::size_t n, std::uint32_t c = 0xffffffffu) {
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c;
}

void put32(bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

void chunk(bytes& out, const char* type, const bytes& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  bytes body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  put32(out, crc32(body.data(), body.size()) ^ 0xffffffffu);
}

//! zlib stream of stored (uncompressed) deflate blocks: valid for every inflater.
bytes zlib_stored(const bytes& raw) {
  bytes out{0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    out.push_back(pos + n == raw.size() ? 1 : 0);
    out.push_back(static_cast<std::uint8_t>(n));
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(~n));
    out.push_back(static_cast<std::uint8_t>(~n >> 8));
    out.insert(out.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos), raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < raw.size());
  std::uint32_t a = 1, b = 0;
  for (auto v : raw) a = (a + v) % 65521, b = (b + a) % 65521;
  put32(out, (b << 16) | a);
  return out;
}

struct png_spec {
  std::uint32_t width = 0, height = 0;
  int depth = 8;       //!< bits per sample
  int colour = 2;      //!< 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
  bool interlaced = false;
  bytes palette, transparency;
  //! Samples per pixel, row-major, each < 2^depth (palette: indices).
  std::vector<std::uint16_t> samples;
};

int samples_per_pixel(int colour) { return colour == 0 || colour == 3 ? 1 : colour == 4 ? 2 : colour == 2 ? 3 : 4; }

//! The filtered (filter type 0) scanlines of the pixels in columns x0, x0+dx, ... of rows
//! y0, y0+dy, ... (the whole image, or one Adam7 pass).
void append_scanlines(bytes& raw, const png_spec& s, std::uint32_t x0, std::uint32_t y0, std::uint32_t dx, std::uint32_t dy) {
  const int spp = samples_per_pixel(s.colour);
  for (std::uint32_t y = y0; y < s.height; y += dy) {
    if (x0 >= s.width) return;
    raw.push_back(0);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::uint32_t x = x0; x < s.width; x += dx)
      for (int c = 0; c < spp; ++c) {
        const std::uint16_t v = s.samples[(static_cast<std::size_t>(y) * s.width + x) * spp + c];
        if (s.depth == 16) {
          raw.push_back(static_cast<std::uint8_t>(v >> 8));
          raw.push_back(static_cast<std::uint8_t>(v));
          continue;
        }
        acc = (acc << s.depth) | v;
        bits += s.depth;
        if (bits == 8) raw.push_back(static_cast<std::uint8_t>(acc)), acc = 0, bits = 0;
      }
    if (bits) raw.push_back(static_cast<std::uint8_t>(acc << (8 - bits)));
  }
}

bytes encode_png(const png_spec& s) {
  bytes out{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  bytes ihdr;
  put32(ihdr, s.width);
  put32(ihdr, s.height);
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(s.depth), static_cast<std::uint8_t>(s.colour), 0, 0,
                           static_cast<std::uint8_t>(s.interlaced ? 1 : 0)});
  chunk(out, "IHDR", ihdr);
  if (!s.palette.empty()) chunk(out, "PLTE", s.palette);
  if (!s.transparency.empty()) chunk(out, "tRNS", s.transparency);
  bytes raw;
  if (!s.interlaced) {
    append_scanlines(raw, s, 0, 0, 1, 1);
  } else {
    // Adam7: (x0, y0, dx, dy) of the seven passes (PNG specification, section 8.2).
    const std::uint32_t passes[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                        {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    for (const auto& p : passes) append_scanlines(raw, s, p[0], p[1], p[2], p[3]);
  }
  chunk(out, "IDAT", zlib_stored(raw));
  chunk(out, "IEND", {});
  return out;
}

void write_file(const fs::path& path, const bytes& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

//! A test pattern: sample c of pixel (x, y), spread over [0, 2^depth).
std::uint16_t pattern(std::uint32_t x, std::uint32_t y, int c, int depth) {
  const std::uint32_t max = (1u << depth) - 1;
  return static_cast<std::uint16_t>((x * 7919u + y * 104729u + static_cast<std::uint32_t>(c) * 15485863u) % (max + 1));
}

png_spec patterned(std::uint32_t w, std::uint32_t h, int depth, int colour) {
  png_spec s{w, h, depth, colour};
  const int spp = samples_per_pixel(colour);
  for (std::uint32_t y = 0; y < h; ++y)
    for (std::uint32_t x = 0; x < w; ++x)
      for (int c = 0; c < spp; ++c) s.samples.push_back(pattern(x, y, c, depth));
  return s;
}

}  // namespace

TEST_CASE("PNG of every colour type and bit depth decodes to the values written", "[images-people-have]") {
  actatlas::test::temp_dir dir;
  SECTION("16-bit RGB: each sample's high byte (stb reduces 16 to 8 bits by v >> 8)") {
    const auto s = patterned(5, 3, 16, 2);
    write_file(dir / "rgb16.png", encode_png(s));
    const auto img = actatlas::io::read_image(dir / "rgb16.png", 3);
    REQUIRE(img.width == 5);
    REQUIRE(img.height == 3);
    for (std::size_t i = 0; i < s.samples.size(); ++i) CHECK(img.pixels[i] == (s.samples[i] >> 8));
  }
  SECTION("grey + alpha, 8-bit: read as RGBA, grey copied to R, G and B, alpha kept") {
    const auto s = patterned(4, 4, 8, 4);
    write_file(dir / "ga.png", encode_png(s));
    const auto img = actatlas::io::read_image(dir / "ga.png", 4);
    for (std::size_t p = 0; p < 16; ++p) {
      CHECK(img.pixels[p * 4 + 0] == s.samples[p * 2]);
      CHECK(img.pixels[p * 4 + 2] == s.samples[p * 2]);
      CHECK(img.pixels[p * 4 + 3] == s.samples[p * 2 + 1]);
    }
    // The loader drops alpha (as PIL's convert("RGB") does): the grey value, not a blend.
    const auto planes = std::get<actatlas::io::image_planes>(actatlas::io::load_image(dir / "ga.png", 4, 4));
    CHECK(planes.pixels[5] == Approx(s.samples[5 * 2] / 255.0f));
  }
  SECTION("16-bit grey") {
    const auto s = patterned(3, 3, 16, 0);
    write_file(dir / "grey16.png", encode_png(s));
    const auto img = actatlas::io::read_image(dir / "grey16.png", 1);
    for (std::size_t i = 0; i < 9; ++i) CHECK(img.pixels[i] == (s.samples[i] >> 8));
  }
  SECTION("4-bit palette with transparency: indices through the palette") {
    png_spec s = patterned(6, 2, 4, 3);
    for (auto& v : s.samples) v %= 3;  // three palette entries
    s.palette = {255, 0, 0, 0, 200, 0, 10, 20, 30};
    s.transparency = {128};  // entry 0 half transparent
    write_file(dir / "palette.png", encode_png(s));
    const auto img = actatlas::io::read_image(dir / "palette.png", 4);
    for (std::size_t p = 0; p < 12; ++p) {
      const auto k = s.samples[p];
      CHECK(img.pixels[p * 4 + 0] == s.palette[k * 3 + 0]);
      CHECK(img.pixels[p * 4 + 1] == s.palette[k * 3 + 1]);
      CHECK(img.pixels[p * 4 + 2] == s.palette[k * 3 + 2]);
      CHECK(img.pixels[p * 4 + 3] == (k == 0 ? 128 : 255));
    }
  }
  SECTION("interlaced (Adam7) equals the same pixels not interlaced") {
    // 11×9: every pass non-empty, partial 8×8 blocks on both edges.
    auto s = patterned(11, 9, 8, 2);
    write_file(dir / "plain.png", encode_png(s));
    s.interlaced = true;
    write_file(dir / "interlaced.png", encode_png(s));
    const auto plain = actatlas::io::read_image(dir / "plain.png", 3);
    const auto inter = actatlas::io::read_image(dir / "interlaced.png", 3);
    REQUIRE(inter.pixels.size() == s.samples.size());
    for (std::size_t i = 0; i < s.samples.size(); ++i) CHECK(inter.pixels[i] == s.samples[i]);
    CHECK(inter.pixels == plain.pixels);
  }
}

namespace {
//! `jpeg` with an APP1 Exif segment holding Orientation = `orientation` inserted after SOI
//! (a little-endian TIFF header, one IFD with one SHORT entry: tag 0x0112).
bytes with_exif_orientation(const bytes& jpeg, std::uint16_t orientation) {
  const bytes tiff = {'I', 'I', 42, 0, 8, 0, 0, 0,  // header, IFD at offset 8
                      1, 0,                          // one entry
                      0x12, 0x01, 3, 0, 1, 0, 0, 0,  // tag 0x0112, type SHORT, count 1
                      static_cast<std::uint8_t>(orientation), static_cast<std::uint8_t>(orientation >> 8), 0, 0,
                      0, 0, 0, 0};                   // no next IFD
  const bytes exif = {'E', 'x', 'i', 'f', 0, 0};
  const std::size_t length = exif.size() + tiff.size() + 2;
  // Appended byte by byte: GCC 12 flags vector::insert of a small vector here (-Warray-bounds,
  // a false positive).
  bytes out;
  out.reserve(6 + length + jpeg.size());
  for (std::uint8_t b : {jpeg[0], jpeg[1], std::uint8_t{0xff}, std::uint8_t{0xe1}, static_cast<std::uint8_t>(length >> 8),
                         static_cast<std::uint8_t>(length)})
    out.push_back(b);
  for (const bytes* part : {&exif, &tiff})
    for (std::uint8_t b : *part) out.push_back(b);
  for (std::size_t i = 2; i < jpeg.size(); ++i) out.push_back(jpeg[i]);
  return out;
}
}  // namespace

TEST_CASE("JPEG: EXIF orientation is not applied, progressive JPEG decodes as its baseline twin", "[images-people-have]") {
  actatlas::test::temp_dir dir;
  SECTION("EXIF orientation 6 (rotate 90°): pixels and size as stored") {
    // A 16×8 picture, left half dark and right half light, so a rotation would show.
    std::vector<std::uint8_t> rgb(16 * 8 * 3);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 16; ++x)
        for (int c = 0; c < 3; ++c) rgb[(y * 16 + x) * 3 + c] = x < 8 ? 20 : 230;
    struct sink {
      static void write(void* ctx, void* data, int size) {
        auto* b = static_cast<bytes*>(ctx);
        b->insert(b->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
      }
    };
    bytes jpeg;
    REQUIRE(stbi_write_jpg_to_func(&sink::write, &jpeg, 16, 8, 3, rgb.data(), 95));
    write_file(dir / "plain.jpg", jpeg);
    write_file(dir / "rotated.jpg", with_exif_orientation(jpeg, 6));
    REQUIRE(read_file(dir / "rotated.jpg").size() == jpeg.size() + 36);  // marker, length, Exif\0\0, 26-byte TIFF
    const auto plain = actatlas::io::read_image(dir / "plain.jpg", 3);
    const auto rotated = actatlas::io::read_image(dir / "rotated.jpg", 3);
    CHECK(rotated.width == 16);
    CHECK(rotated.height == 8);
    CHECK(rotated.pixels == plain.pixels);
    CHECK(rotated.pixels[0] < 60);                // top-left still dark
    CHECK(rotated.pixels[15 * 3] > 190);          // top-right still light
  }
  SECTION("progressive JPEG (tests/cpu/data: jpegtran -progressive of the baseline file, lossless)") {
    const fs::path data = fs::path(__FILE__).parent_path() / "data";
    const auto baseline = actatlas::io::read_image(data / "baseline.jpg", 3);
    const auto progressive = actatlas::io::read_image(data / "progressive.jpg", 3);
    // The file really is progressive: its frame marker is SOF2, and there is no SOF0.
    const auto raw = read_file(data / "progressive.jpg");
    bool sof2 = false, sof0 = false;
    for (std::size_t i = 0; i + 1 < raw.size(); ++i) {
      sof2 = sof2 || (raw[i] == 0xff && raw[i + 1] == 0xc2);
      sof0 = sof0 || (raw[i] == 0xff && raw[i + 1] == 0xc0);
    }
    REQUIRE(sof2);
    REQUIRE_FALSE(sof0);
    REQUIRE(baseline.width == progressive.width);
    REQUIRE(baseline.height == progressive.height);
    // Same DCT coefficients: the same pixels up to the decoders' rounding.
    int worst = 0;
    for (std::size_t i = 0; i < baseline.pixels.size(); ++i)
      worst = std::max(worst, std::abs(int(baseline.pixels[i]) - int(progressive.pixels[i])));
    CHECK(worst <= 1);
  }
}

TEST_CASE("GIF and WebP in an image folder are listed and skipped with the reason", "[images-people-have]") {
  actatlas::test::temp_dir dir;
  const auto png = encode_png(patterned(4, 4, 8, 2));
  write_file(dir / "a.png", png);
  write_file(dir / "b.gif", {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, ',', 0, 0, 0, 0,
                             1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';'});
  write_file(dir / "c.WEBP", {'R', 'I', 'F', 'F', 26, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L', 13, 0, 0, 0});
  write_file(dir / "d.png", {'R', 'I', 'F', 'F', 26, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L', 13, 0, 0, 0});
  write_file(dir / "notes.txt", {'h', 'i'});
  const auto files = actatlas::io::list_images(dir.path());
  REQUIRE(files.size() == 4);  // a.png b.gif c.WEBP d.png; not notes.txt
  const auto reason = [](const fs::path& p) {
    auto r = actatlas::io::load_image(p, 8, 8);
    return std::holds_alternative<actatlas::io::image_failure>(r) ? std::get<actatlas::io::image_failure>(r).reason
                                                                  : std::string("decoded");
  };
  CHECK(reason(files[0]) == "decoded");
  CHECK_THAT(reason(files[1]), Catch::StartsWith("GIF is not supported"));
  CHECK_THAT(reason(files[2]), Catch::StartsWith("WebP is not supported"));
  CHECK_THAT(reason(files[3]), Catch::StartsWith("WebP is not supported"));  // named .png, sniffed
  CHECK_THROWS_WITH(actatlas::io::read_image(files[1]), Catch::Contains("b.gif") && Catch::Contains("GIF is not supported"));
}

TEST_CASE("a decompression bomb is refused from its header, before decoding", "[images-people-have]") {
  actatlas::test::temp_dir dir;
  // 30000×30000 RGB declared, 1 row of data: decoding would fail as corrupt after allocating
  // 2.7 GB; the header check must answer first, with its own reason.
  png_spec bomb{30000, 30000, 8, 2};
  bytes out{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  bytes ihdr;
  put32(ihdr, 30000);
  put32(ihdr, 30000);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", zlib_stored(bytes(1 + 30000 * 3, 0)));
  chunk(out, "IEND", {});
  write_file(dir / "bomb.png", out);
  REQUIRE(fs::file_size(dir / "bomb.png") < 100000);
  auto r = actatlas::io::load_image(dir / "bomb.png", 8, 8);
  REQUIRE(std::holds_alternative<actatlas::io::image_failure>(r));
  CHECK(std::get<actatlas::io::image_failure>(r).reason ==
        "declares 30000×30000 pixels, more than the limit of 67108864 (--max-image-pixels)");
  CHECK_THROWS_WITH(actatlas::io::read_image(dir / "bomb.png"), Catch::Contains("bomb.png") && Catch::Contains("30000×30000"));

  SECTION("a bomb stb's own header check lets through (9000×9000 JPEG-sized) meets the limit too") {
    bytes b{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    bytes h;
    put32(h, 9000);
    put32(h, 9000);
    h.insert(h.end(), {8, 0, 0, 0, 0});  // 8-bit grey: 81 MB, under stb's 1 GB refusal
    chunk(b, "IHDR", h);
    chunk(b, "IDAT", zlib_stored(bytes(1 + 9000, 0)));  // one row: decoding would fail as corrupt
    chunk(b, "IEND", {});
    write_file(dir / "bomb9000.png", b);
    int w = 0, hh = 0, n = 0;
    REQUIRE(stbi_info((dir / "bomb9000.png").c_str(), &w, &hh, &n) == 1);  // stb alone would go on
    auto r9 = actatlas::io::load_image(dir / "bomb9000.png", 8, 8);
    REQUIRE(std::holds_alternative<actatlas::io::image_failure>(r9));
    CHECK_THAT(std::get<actatlas::io::image_failure>(r9).reason, Catch::StartsWith("declares 9000×9000 pixels"));
  }
  SECTION("a chunk claiming more bytes than the file holds is refused before stb reserves them") {
    // fuzz/regressions/image/png_idat_claims_1gb.png, rebuilt: a 2×1 PNG whose IDAT length
    // says 2^30 + 13 bytes (stb reallocated that much before reading a byte of it).
    bytes b{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    bytes h;
    put32(h, 2);
    put32(h, 1);
    h.insert(h.end(), {8, 4, 0, 0, 0});
    chunk(b, "IHDR", h);
    put32(b, 0x4000000du);
    b.insert(b.end(), {'I', 'D', 'A', 'T', 0x78, 0xda, 0x00, 0x49});
    write_file(dir / "chunk.png", b);
    auto rc = actatlas::io::load_image(dir / "chunk.png", 8, 8);
    REQUIRE(std::holds_alternative<actatlas::io::image_failure>(rc));
    CHECK(std::get<actatlas::io::image_failure>(rc).reason ==
          "corrupt PNG: chunk 'IDAT' claims 1073741837 bytes, the file holds 0 after it (truncated or forged)");
  }
  SECTION("the limit is inclusive and adjustable") {
    write_file(dir / "small.png", encode_png(patterned(4, 3, 8, 2)));  // 12 pixels
    CHECK(std::holds_alternative<actatlas::io::image_planes>(actatlas::io::load_image(dir / "small.png", 4, 4, 12)));
    CHECK(std::holds_alternative<actatlas::io::image_failure>(actatlas::io::load_image(dir / "small.png", 4, 4, 11)));
    const auto saved = actatlas::io::max_image_pixels().load();
    actatlas::io::max_image_pixels() = 11;
    CHECK_THROWS_WITH(actatlas::io::read_image(dir / "small.png"), Catch::Contains("4×3 pixels"));
    actatlas::io::max_image_pixels() = saved;
  }
}

namespace {
//! A zlib stream that inflates to `n` (> 0) zero bytes (a literal, then <length 258, distance 1>
//! copies in fixed-Huffman codes: 13 bits per 258 bytes, then literals for the rest),
//! written bit by bit as RFC 1951 says.
bytes zlib_zeros(std::size_t n) {
  bytes out{0x78, 0x01};
  std::uint32_t acc = 0;
  int bits = 0;
  const auto put = [&](std::uint32_t value, int count) {  // LSB first
    acc |= value << bits;
    bits += count;
    while (bits >= 8) out.push_back(static_cast<std::uint8_t>(acc)), acc >>= 8, bits -= 8;
  };
  const auto code = [&](std::uint32_t c, int count) {  // Huffman codes go most significant bit first
    for (int i = count - 1; i >= 0; --i) put((c >> i) & 1u, 1);
  };
  put(1, 1);            // BFINAL
  put(1, 2);            // BTYPE 01: fixed Huffman codes
  std::size_t done = 0;
  for (; done < 1 || (done < n && n - done < 258); ++done) code(0x30, 8);  // literal 0
  for (; done + 258 <= n; done += 258) {
    code(0xc5, 8);      // length symbol 285: 258 bytes
    code(0, 5);         // distance symbol 0: 1 byte back
  }
  for (; done < n; ++done) code(0x30, 8);
  code(0, 7);           // end of block
  if (bits) put(0, 8 - bits);
  put32(out, static_cast<std::uint32_t>((n % 65521) << 16 | 1));  // Adler-32 of n zeros
  return out;
}
}  // namespace

TEST_CASE("an inflate bomb (modest header, data that expands to megabytes) is refused while decoding", "[images-people-have]") {
  actatlas::test::temp_dir dir;
  // 16×16 RGB declared (784 bytes of scanlines), 16 MB of zeros inflated from ~100 kB. stb
  // keeps doubling its buffer while the stream runs and keeps what fits, so without a
  // ceiling this decodes, as a black image, after allocating 16 MB (gigabytes for a bigger
  // file: deflate reaches 1032:1).
  bytes b{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  bytes h;
  put32(h, 16);
  put32(h, 16);
  h.insert(h.end(), {8, 2, 0, 0, 0});
  chunk(b, "IHDR", h);
  chunk(b, "IDAT", zlib_zeros(std::size_t{16} << 20));
  chunk(b, "IEND", {});
  write_file(dir / "inflate_bomb.png", b);
  REQUIRE(fs::file_size(dir / "inflate_bomb.png") < 120000);
  const std::string reason = "its compressed data expands far past the 16×16 pixels its header declares (a decompression bomb): "
                             "stopped at " + std::to_string(actatlas::io::detail::decoder_ceiling(16, 16)) + " bytes";
  CHECK(actatlas::io::detail::decoder_ceiling(16, 16) == 32 * 16 * 16 + (1u << 20));
  auto r = actatlas::io::load_image(dir / "inflate_bomb.png", 8, 8);
  REQUIRE(std::holds_alternative<actatlas::io::image_failure>(r));
  CHECK(std::get<actatlas::io::image_failure>(r).reason == reason);
  CHECK_THROWS_WITH(actatlas::io::read_image(dir / "inflate_bomb.png"), (dir / "inflate_bomb.png").string() + ": cannot read image: " + reason);
  CHECK(actatlas::detail::stb_budget().ceiling == std::numeric_limits<std::size_t>::max());  // restored after decoding

  // The same stream cut to what the header declares decodes: the ceiling only stops excess.
  bytes ok{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  chunk(ok, "IHDR", h);
  chunk(ok, "IDAT", zlib_zeros(16 * (1 + 16 * 3)));
  chunk(ok, "IEND", {});
  write_file(dir / "zeros.png", ok);
  CHECK(std::holds_alternative<actatlas::io::image_planes>(actatlas::io::load_image(dir / "zeros.png", 8, 8)));
  // A large real image passes the ceiling: 16-bit RGBA, 600×500, stored (incompressible) deflate.
  write_file(dir / "big16.png", encode_png(patterned(600, 500, 16, 6)));
  CHECK(actatlas::io::read_image(dir / "big16.png", 4).width == 600);
}

TEST_CASE("file names with spaces, quotes, commas and non-ASCII characters are listed and decoded", "[images-people-have]") {
  actatlas::test::temp_dir dir;
  const std::vector<std::string> names = {"a b.png", "quote\"d.png", "it's.png", "comma,name.png", "naïve café.png",
                                          "日本語.png", "line\nbreak.png"};
  const auto png = encode_png(patterned(4, 4, 8, 2));
  fs::create_directories(dir / "cls");
  for (const auto& n : names) write_file(dir / "cls" / n, png);
  const auto files = actatlas::io::list_images(dir.path());
  REQUIRE(files.size() == names.size());
  for (const auto& f : files) {
    INFO(f.string());
    CHECK(std::holds_alternative<actatlas::io::image_planes>(actatlas::io::load_image(f, 4, 4)));
  }
}
