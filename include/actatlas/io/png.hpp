/// @file io/png.hpp
/// PNG files in and out, through stb_image_write and stb_image. Writing is atomic (a
/// temporary sibling renamed into place), so an interrupted run never leaves a truncated
/// picture under the real name.
///
/// @code
/// std::vector<std::uint8_t> rgb(64 * 64 * 3, 255);
/// actatlas::io::write_png("white.png", rgb.data(), 64, 64, 3);
/// auto back = actatlas::io::read_image("white.png", 3);   // back.width == 64
/// @endcode
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "../detail/stb.hpp"
#include "../error.hpp"
#include "atomic_file.hpp"
#include "image_folder.hpp"

namespace actatlas::io {

//! An 8-bit image in memory, rows top to bottom, channels interleaved.
struct image_u8 {
  int width = 0;
  int height = 0;
  int channels = 0;                 //!< 1 (grey), 3 (RGB) or 4 (RGBA)
  std::vector<std::uint8_t> pixels; //!< width * height * channels bytes
};

namespace detail {
inline void png_to_ostream(void* context, void* data, int size) {
  static_cast<std::ostream*>(context)->write(static_cast<const char*>(data), size);
}
}  // namespace detail

//! Writes `pixels` (`height` rows of `width` × `channels` bytes; channels 1, 3 or 4) to
//! `path` as PNG, atomically. Throws input_error naming `path` when it cannot be written.
inline void write_png(const std::filesystem::path& path, const std::uint8_t* pixels, int width, int height,
                      int channels) {
  if (width <= 0 || height <= 0) throw input_error(path.string(), "cannot write an empty image");
  if (channels != 1 && channels != 3 && channels != 4)
    throw input_error(path.string(), "PNG needs 1, 3 or 4 channels, got " + std::to_string(channels));
  atomic_write(path, [&](std::ostream& out) {
    const int ok = stbi_write_png_to_func(&detail::png_to_ostream, &out, width, height, channels, pixels,
                                          width * channels);
    if (!ok) throw input_error(path.string(), "PNG encoding failed");
  });
}

inline void write_png(const std::filesystem::path& path, const image_u8& image) {
  write_png(path, image.pixels.data(), image.width, image.height, image.channels);
}

//! Reads any image stb_image understands (PNG, JPEG, BMP, ...) as 8-bit pixels with
//! `channels` channels (1, 3 or 4; converted as needed). Throws input_error naming `path`
//! with the reason when the file is missing, not a readable image, or declares more than
//! `max_pixels` pixels (refused before decoding; see io/image_folder.hpp).
inline image_u8 read_image(const std::filesystem::path& path, int channels = 3,
                           std::uint64_t max_pixels = max_image_pixels()) {
  if (channels < 1 || channels > 4)
    throw input_error(path.string(), "cannot read with " + std::to_string(channels) + " channels");
  std::pair<std::uint64_t, std::uint64_t> declared{0, 0};
  if (auto why = detail::undecodable_reason(path, max_pixels, &declared); !why.empty())
    throw input_error(path.string(), "cannot read image: " + why);
  int w = 0, h = 0;
  std::string why;
  stbi_uc* data = detail::decode_within_ceiling(path, channels, declared, w, h, why);
  if (!data) throw input_error(path.string(), "cannot read image: " + why);
  image_u8 image{w, h, channels, std::vector<std::uint8_t>(data, data + static_cast<std::size_t>(w) * h * channels)};
  stbi_image_free(data);
  return image;
}

//! Same as read_image; kept as the PNG-specific spelling.
inline image_u8 read_png(const std::filesystem::path& path, int channels = 3,
                         std::uint64_t max_pixels = max_image_pixels()) {
  return read_image(path, channels, max_pixels);
}

}  // namespace actatlas::io
