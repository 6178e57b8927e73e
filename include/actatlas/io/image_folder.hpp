/// @file io/image_folder.hpp
/// Images on disk to model inputs, on the CPU and without LibTorch:
///
/// - `list_images(folder)`: every JPEG, PNG and BMP below `folder`, recursively, sorted by
///   their path relative to `folder` (byte order), so a run is the same on every machine.
///   GIF and WebP files are listed too, so that they are reported as skipped (with the
///   reason) instead of vanishing without a word;
/// - `load_image(path, H, W)`: decoded with stb_image, grey or alpha made RGB (alpha is
///   dropped, as PIL's `convert("RGB")` does), scaled so that it covers H×W and centre-cropped,
///   as planar float32 RGB in [0,1] (3×H×W). A file stb cannot decode is an
///   `image_failure`, never a crash.
///
/// What is decoded: 8- and 16-bit PNG of every colour type (grey, grey+alpha, palette, RGB,
/// RGBA; interlaced or not; 16-bit is reduced to 8), baseline and progressive JPEG, BMP.
/// A JPEG's EXIF orientation is NOT applied: the pixels are taken as stored, as PIL's
/// `Image.open` and torchvision's ImageFolder do, so an atlas sees what a model trained
/// with those tools saw. GIF and WebP are skipped with the reason.
///
/// Decompression bombs: the header's declared size is read first (stbi_info) and an image
/// of more than `max_image_pixels()` pixels (default 64 megapixels, e.g. 8192×8192; the
/// program's `--max-image-pixels`) is skipped before any pixel buffer is allocated. An
/// image whose header is modest but whose compressed data inflates far past it (a few
/// hundred kB of PNG that expand to gigabytes) is skipped too: while decoding, no single
/// allocation of stb's may exceed `decoder_ceiling` of the declared size (32 bytes per
/// pixel, dimensions rounded up to 16, plus 1 MiB; a real image needs at most 16: 16-bit
/// RGBA and its compressed copy), so the inflater fails instead of growing its buffer.
///
/// Resampling: shrinking averages every source pixel a target pixel covers, weighted by
/// the covered fraction (area-correct, no aliasing of the photo's fine texture);
/// enlarging is bilinear with pixel centres at +0.5.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "../detail/stb.hpp"
#include "../error.hpp"

namespace actatlas::io {

namespace detail {
inline std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}
}  // namespace detail

//! True for the extensions the image reader decodes (.jpg .jpeg .png .bmp, any case).
inline bool has_image_extension(const std::filesystem::path& path) {
  const auto ext = detail::lower_extension(path);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

//! True for image files people put in folders that we do not decode (.gif .webp): listed
//! by list_images so that each is reported as skipped, with the reason.
inline bool has_unsupported_image_extension(const std::filesystem::path& path) {
  const auto ext = detail::lower_extension(path);
  return ext == ".gif" || ext == ".webp";
}

//! The largest image, in pixels (width × height as the file's header declares them), that
//! load_image and read_image decode; larger ones are refused before decoding. Process-wide,
//! set once at start-up (the program's --max-image-pixels). Default 64 megapixels: an
//! 8192×8192 photo, a 192 MB RGB buffer per decoding thread.
inline std::atomic<std::uint64_t>& max_image_pixels() {
  static std::atomic<std::uint64_t> limit{std::uint64_t{1} << 26};
  return limit;
}

//! Every image file below `folder`, recursively, sorted by relative path. A missing or
//! unreadable folder is an input_error naming it; an empty one gives an empty list.
inline std::vector<std::filesystem::path> list_images(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw input_error(folder.string(), "no such image folder");
  std::vector<std::pair<std::string, fs::path>> found;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw input_error(folder.string(), "cannot read the folder: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw input_error(folder.string(), "cannot read the folder: " + ec.message());
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    if (!has_image_extension(it->path()) && !has_unsupported_image_extension(it->path())) continue;
    found.emplace_back(fs::relative(it->path(), folder, type_ec).generic_string(), it->path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

//! A decoded, resized and cropped image: planar RGB, `pixels[c*H*W + y*W + x]` in [0,1].
struct image_planes {
  int height = 0;
  int width = 0;
  std::vector<float> pixels;
};

//! Why a file was skipped.
struct image_failure {
  std::filesystem::path path;
  std::string reason;
};

namespace detail {

//! For one output axis: for each output index, the source indices and weights that make it.
struct resample_axis {
  std::vector<int> first;             //!< first source index per output index
  std::vector<std::vector<float>> w;  //!< weights of source indices first, first+1, ...
};

//! The weights mapping source length `in` to a scaled length `scaled`, of which the
//! `out` values starting at `offset` are kept (the centre crop).
inline resample_axis make_resample_axis(int in, int scaled, int offset, int out) {
  resample_axis axis;
  axis.first.resize(static_cast<std::size_t>(out));
  axis.w.resize(static_cast<std::size_t>(out));
  const double scale = static_cast<double>(scaled) / in;  // output pixels per source pixel
  for (int o = 0; o < out; ++o) {
    const int k = o + offset;  // index in the scaled image
    auto& weights = axis.w[static_cast<std::size_t>(o)];
    if (scale < 1.0) {
      // Shrinking: output pixel k covers source interval [k/scale, (k+1)/scale).
      const double lo = k / scale, hi = std::min<double>((k + 1) / scale, in);
      const int i0 = static_cast<int>(std::floor(lo)), i1 = std::min(in - 1, static_cast<int>(std::ceil(hi)) - 1);
      axis.first[static_cast<std::size_t>(o)] = i0;
      double total = 0;
      for (int i = i0; i <= i1; ++i) {
        const double cover = std::min<double>(i + 1, hi) - std::max<double>(i, lo);
        weights.push_back(static_cast<float>(std::max(0.0, cover)));
        total += std::max(0.0, cover);
      }
      for (auto& v : weights) v = static_cast<float>(v / total);
    } else {
      // Enlarging (or equal): bilinear between the two nearest source centres.
      const double src = std::clamp((k + 0.5) / scale - 0.5, 0.0, static_cast<double>(in - 1));
      const int i0 = std::min(static_cast<int>(std::floor(src)), in - 1);
      const int i1 = std::min(i0 + 1, in - 1);
      const auto t = static_cast<float>(src - i0);
      axis.first[static_cast<std::size_t>(o)] = i0;
      if (i1 == i0) {
        weights = {1.0f};
      } else {
        weights = {1.0f - t, t};
      }
    }
  }
  return axis;
}

}  // namespace detail

//! Scales interleaved 8-bit RGB (`height`×`width`) to cover `out_h`×`out_w` and centre-crops.
inline image_planes resize_and_crop(const std::uint8_t* rgb, int height, int width, int out_h, int out_w) {
  // The smallest uniform scale at which the image covers the target; both sides rounded
  // so that the crop is exact. Each axis then uses its own exact factor.
  const double s = std::max(static_cast<double>(out_h) / height, static_cast<double>(out_w) / width);
  const int scaled_h = std::max(out_h, static_cast<int>(std::lround(height * s)));
  const int scaled_w = std::max(out_w, static_cast<int>(std::lround(width * s)));
  const auto ay = detail::make_resample_axis(height, scaled_h, (scaled_h - out_h) / 2, out_h);
  const auto ax = detail::make_resample_axis(width, scaled_w, (scaled_w - out_w) / 2, out_w);

  // Horizontal pass on the rows the vertical pass needs, then the vertical pass.
  const int row_lo = ay.first.front();
  int row_hi = row_lo;
  for (std::size_t o = 0; o < ay.first.size(); ++o)
    row_hi = std::max(row_hi, ay.first[o] + static_cast<int>(ay.w[o].size()) - 1);
  const int rows = row_hi - row_lo + 1;
  std::vector<float> tmp(static_cast<std::size_t>(rows) * out_w * 3);
  for (int r = 0; r < rows; ++r) {
    const std::uint8_t* src = rgb + static_cast<std::size_t>(row_lo + r) * width * 3;
    float* dst = tmp.data() + static_cast<std::size_t>(r) * out_w * 3;
    for (int o = 0; o < out_w; ++o) {
      float acc[3] = {0, 0, 0};
      const auto& w = ax.w[static_cast<std::size_t>(o)];
      const std::uint8_t* p = src + static_cast<std::size_t>(ax.first[static_cast<std::size_t>(o)]) * 3;
      for (std::size_t i = 0; i < w.size(); ++i, p += 3)
        for (int c = 0; c < 3; ++c) acc[c] += w[i] * p[c];
      for (int c = 0; c < 3; ++c) dst[o * 3 + c] = acc[c];
    }
  }
  image_planes out;
  out.height = out_h;
  out.width = out_w;
  out.pixels.assign(static_cast<std::size_t>(3) * out_h * out_w, 0.0f);
  const std::size_t plane = static_cast<std::size_t>(out_h) * out_w;
  for (int o = 0; o < out_h; ++o) {
    const auto& w = ay.w[static_cast<std::size_t>(o)];
    const int r0 = ay.first[static_cast<std::size_t>(o)] - row_lo;
    for (int x = 0; x < out_w; ++x) {
      float acc[3] = {0, 0, 0};
      for (std::size_t i = 0; i < w.size(); ++i) {
        const float* p = tmp.data() + (static_cast<std::size_t>(r0) + i) * out_w * 3 + static_cast<std::size_t>(x) * 3;
        for (int c = 0; c < 3; ++c) acc[c] += w[i] * p[c];
      }
      for (int c = 0; c < 3; ++c)
        out.pixels[c * plane + static_cast<std::size_t>(o) * out_w + x] = std::clamp(acc[c] / 255.0f, 0.0f, 1.0f);
    }
  }
  return out;
}

namespace detail {

//! A PNG whose chunk claims more bytes than the file holds, as a reason ("" when every
//! chunk up to IEND fits). stb reserves a chunk's claimed length before reading it, so a
//! 52-byte file claiming a 1 GB IDAT allocated 1 GB (found by fuzz/image.cpp).
inline std::string png_chunk_problem(std::FILE* f) {
  if (std::fseek(f, 0, SEEK_END) != 0) return "cannot read";
  const long size = std::ftell(f);
  long pos = 8;
  while (pos + 8 <= size) {
    unsigned char head[8];
    if (std::fseek(f, pos, SEEK_SET) != 0 || std::fread(head, 1, 8, f) != 8) return "cannot read";
    const std::uint64_t length = (std::uint64_t{head[0]} << 24) | (std::uint64_t{head[1]} << 16) |
                                 (std::uint64_t{head[2]} << 8) | head[3];
    const std::uint64_t room = static_cast<std::uint64_t>(size - pos - 8);
    std::string type(reinterpret_cast<const char*>(head + 4), 4);
    if (length + 4 > room)  // the data and its CRC
      return "corrupt PNG: chunk '" + type + "' claims " + std::to_string(length) + " bytes, the file holds " +
             std::to_string(room < 4 ? 0 : room - 4) + " after it (truncated or forged)";
    if (type == "IEND") break;
    pos += 12 + static_cast<long>(length);
  }
  return "";
}

//! Why the file at `path` will not be decoded, judged from its first bytes and its header
//! alone (nothing is decoded, no pixel buffer allocated); "" when it may be, and then the
//! declared width and height are in `declared` when given. The reasons are for people:
//! they say what the file is and what to do.
inline std::string undecodable_reason(const std::filesystem::path& path, std::uint64_t max_pixels,
                                      std::pair<std::uint64_t, std::uint64_t>* declared = nullptr) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "cannot open (no such file, or not readable)";
  unsigned char magic[24] = {};
  const std::size_t got = std::fread(magic, 1, sizeof magic, f);
  const auto too_many = [&](std::uint64_t w, std::uint64_t h) {
    return "declares " + std::to_string(w) + "×" + std::to_string(h) + " pixels, more than the limit of " +
           std::to_string(max_pixels) + " (--max-image-pixels)";
  };
  const auto be32 = [&](int at) {
    return (std::uint64_t{magic[at]} << 24) | (std::uint64_t{magic[at + 1]} << 16) | (std::uint64_t{magic[at + 2]} << 8) |
           magic[at + 3];
  };
  std::string reason;
  const bool png = got == 24 && std::memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0;
  if (png) reason = png_chunk_problem(f);
  if (!reason.empty()) {  // a chunk that overruns the file: the reason is set
  } else if (png && std::memcmp(magic + 12, "IHDR", 4) == 0 && be32(16) * be32(20) > max_pixels) {
    // Read here rather than through stbi_info, which refuses a PNG above 2^30 bytes of
    // pixels as an "unknown image type": a bomb should be named as one.
    reason = too_many(be32(16), be32(20));
  } else if (got >= 6 && std::memcmp(magic, "GIF8", 4) == 0) {
    reason = "GIF is not supported (convert it to PNG or JPEG)";
  } else if (got >= 12 && std::memcmp(magic, "RIFF", 4) == 0 && std::memcmp(magic + 8, "WEBP", 4) == 0) {
    reason = "WebP is not supported (convert it to PNG or JPEG)";
  } else {
    std::rewind(f);
    int w = 0, h = 0, channels = 0;
    if (!stbi_info_from_file(f, &w, &h, &channels)) {
      const char* why = stbi_failure_reason();
      reason = std::string("cannot decode: ") + (why ? why : "unknown format");
    } else if (w <= 0 || h <= 0) {
      reason = "empty image";
    } else if (static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h) > max_pixels) {
      reason = too_many(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h));
    } else if (has_unsupported_image_extension(path)) {
      reason = "GIF and WebP files are not supported (convert it to PNG or JPEG)";
    } else if (declared) {
      *declared = {static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h)};
    }
  }
  std::fclose(f);
  return reason;
}

//! The largest single allocation stb may make while decoding an image whose header
//! declares `width`×`height` (see the file comment): 32 bytes per pixel of the size rounded
//! up to 16 (a JPEG's blocks), plus 1 MiB for tables and small images.
inline std::uint64_t decoder_ceiling(std::uint64_t width, std::uint64_t height) {
  return 32 * ((width + 15) / 16 * 16) * ((height + 15) / 16 * 16) + (std::uint64_t{1} << 20);
}

//! stbi_load under decoder_ceiling of the declared size. On failure returns nullptr and
//! sets `why` (a bomb is named as one).
inline stbi_uc* decode_within_ceiling(const std::filesystem::path& path, int channels, std::pair<std::uint64_t, std::uint64_t> declared,
                                      int& w, int& h, std::string& why) {
  const std::uint64_t ceiling = decoder_ceiling(declared.first, declared.second);
  actatlas::detail::stb_allocation_budget budget(static_cast<std::size_t>(std::min<std::uint64_t>(ceiling, SIZE_MAX)));
  int file_channels = 0;
  stbi_uc* data = stbi_load(path.c_str(), &w, &h, &file_channels, channels);
  if (data) return data;
  if (budget.refused())
    why = "its compressed data expands far past the " + std::to_string(declared.first) + "×" + std::to_string(declared.second) +
          " pixels its header declares (a decompression bomb): stopped at " + std::to_string(ceiling) + " bytes";
  else
    why = std::string("cannot decode: ") + (stbi_failure_reason() ? stbi_failure_reason() : "unknown reason");
  return nullptr;
}

}  // namespace detail

//! Decodes `path` and brings it to `out_h`×`out_w` (see the file comment). On failure
//! returns an image_failure with the reason (the header's, or stb's); never throws for a
//! bad image. Images of more than `max_pixels` pixels are refused before decoding.
inline std::variant<image_planes, image_failure> load_image(const std::filesystem::path& path, int out_h, int out_w,
                                                            std::uint64_t max_pixels = max_image_pixels()) {
  std::pair<std::uint64_t, std::uint64_t> declared{0, 0};
  if (auto why = detail::undecodable_reason(path, max_pixels, &declared); !why.empty()) return image_failure{path, std::move(why)};
  int w = 0, h = 0;
  std::string why;
  // Asking for 3 components makes stb turn grey into RGB and drop alpha.
  stbi_uc* data = detail::decode_within_ceiling(path, 3, declared, w, h, why);
  if (!data) return image_failure{path, std::move(why)};
  if (w <= 0 || h <= 0) {
    stbi_image_free(data);
    return image_failure{path, "empty image"};
  }
  image_planes out = resize_and_crop(data, h, w, out_h, out_w);
  stbi_image_free(data);
  return out;
}

}  // namespace actatlas::io
