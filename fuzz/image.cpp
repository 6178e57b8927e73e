// Fuzz target: image decoding through our loaders (io/image_folder.hpp, io/png.hpp): the
// header check (sizes, channels, bit depths; GIF/WebP sniffing; the pixel limit), stb's
// decoders, the resize and crop, and read_image's channel conversions (the icon cache reads
// its PNGs with read_png). The pixel limit is lowered to 2^20 so that a forged header cannot
// spend the fuzzer's time and memory on a legitimately large picture.
#include <actatlas/io/image_folder.hpp>
#include <actatlas/io/png.hpp>

#include <cstdlib>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actatlas;
  constexpr std::uint64_t limit = std::uint64_t{1} << 20;
  const auto path = fuzz::write_input(data, size, "input.png");
  const auto loaded = io::load_image(path, 13, 7, limit);
  if (const auto* img = std::get_if<io::image_planes>(&loaded)) {
    if (img->pixels.size() != 3u * 13 * 7) std::abort();
    for (float v : img->pixels)
      if (!(v >= 0.0f && v <= 1.0f)) std::abort();
  }
  for (int channels : {1, 4}) {
    try {
      const auto image = io::read_image(path, channels, limit);
      if (image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * channels) std::abort();
    } catch (const input_error&) {
    }
  }
  return 0;
}
