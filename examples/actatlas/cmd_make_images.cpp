// actatlas make-images: writes the procedural demo image set as a folder of PNGs.
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/progress.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

const char* const usage = R"(actatlas make-images --out DIR [--per-class N] [--seed S] [--size PX]

Writes the procedural demo image set as PNGs, one subfolder per class
(DIR/<class>/<class>_0000.png ...), the layout every image-folder command reads.
`actatlas train-demo` writes a contact sheet of the set.

  --out DIR        destination folder (created when missing)
  --per-class N    images per class (default 100)
  --seed S         seed of the images (default 1); the same seed writes the same files
  --size PX        image side in pixels (default 64, at least 16))";

int run_make_images(const std::vector<std::string>& argv) {
  cli::args a("make-images", argv);
  const std::filesystem::path out = a.str("out");
  const auto per_class = a.number<long long>("per-class", 100);
  const auto seed = a.number<std::uint64_t>("seed", 1);
  const auto size = a.number<int>("size", actatlas::demo::default_image_size);
  a.reject_unknown();
  if (per_class < 1) throw cli::usage_error("make-images: --per-class must be at least 1");
  if (size < 16 || size > 4096) throw cli::usage_error("make-images: --size must be between 16 and 4096");
  actatlas::progress_bar bar;
  actatlas::demo::write_folder(out, static_cast<std::size_t>(per_class), seed, size, std::ref(bar));
  std::printf("wrote %lld images of %zu classes under %s\n", per_class * static_cast<long long>(actatlas::demo::class_count()),
              actatlas::demo::class_count(), out.string().c_str());
  return 0;
}

const bool registered = cli::add_command({"make-images", "write the procedural demo image set as a PNG folder", usage,
                                          run_make_images});

}  // namespace
