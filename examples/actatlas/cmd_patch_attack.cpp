// actatlas patch-attack: paste a patch (an icon from an atlas, or any image) into images
// of a source class at each corner and several sizes, and count how often the model then
// answers the target class, beside a random-noise patch of the same size.
#include <actatlas/experiments/class_names.hpp>
#include <actatlas/experiments/patch_attack_table.hpp>
#include <actatlas/io/atomic_file.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>
#include <actatlas/torch/patch_attack.hpp>

#include <cstdio>
#include <sstream>

#include "cli.hpp"

namespace {

const char* usage = R"(actatlas patch-attack --model M --patch P --images DIR --source A --target B [options]

Pastes the patch P into every image of class A under DIR (images in folders named A;
when no folder is named after a class, every image in DIR) at each of the four corners
and each size, and a random-noise patch the same way. Reports, over the images the model
classified as A before: the share flipped to B at the fixed corner and size, the share
flipped with the best corner and size per image, the same two for noise, and the mean
probability of B before and after. Writes DIR_OUT/patch_attack.csv and .md (the
article's table) and prints the table.

  --model M          the model
  --patch P          the patch image (PNG, JPEG, ...; an atlas icon: ATLAS/icons/G/x_y.png)
  --images DIR       images (DIR/A/*.png, or a folder of class-A images)
  --source A         the class the images belong to (name or index)
  --target B         the class the patch argues for (name or index)
  --sizes S,...      patch sides as fractions of the image side, or in pixels with
                     'px' (default 0.2,0.3,0.4)
  --fixed-size S     the size of the fixed placement (default: the middle size)
  --fixed-corner C   top-left | top-right | bottom-left | bottom-right (default)
  --noise-seed N     the noise patches' seed (0)
  --batch B          images per forward pass (32)
  --out DIR          where the CSV and Markdown go (default patch-attack)
  --device D         auto | cpu | cuda)";

int run_patch_attack(const std::vector<std::string>& argv) {
  cli::args a("patch-attack", argv);
  const std::string model_path = a.str("model");
  const std::filesystem::path patch_path = a.str("patch");
  const std::filesystem::path images = a.str("images");
  const std::string source_name = a.str("source"), target_name = a.str("target");
  const std::string sizes_text = a.str("sizes", "0.2,0.3,0.4");
  const std::string fixed_size_text = a.str("fixed-size", "");
  const std::string corner = a.str("fixed-corner", "bottom-right");
  const std::filesystem::path out = a.str("out", "patch-attack");
  actatlas::patch_attack_options o;
  o.noise_seed = a.number<std::uint64_t>("noise-seed", 0);
  o.batch = a.number<std::size_t>("batch", 32);
  const auto device = actatlas::pick_device(a.str("device", "auto"));
  a.reject_unknown();
  o.fixed_corner = actatlas::parse_patch_corner(corner);
  const auto patch = actatlas::io::read_image(patch_path, 3);
  auto model = actatlas::open_model(model_path, device);
  const auto& info = model->info();
  const double side = static_cast<double>(std::min(info.input_height, info.input_width));
  auto parse_size = [&](const std::string& text) {
    const bool px = text.size() > 2 && text.substr(text.size() - 2) == "px";
    double v = 0;
    try {
      std::size_t used = 0;
      v = std::stod(px ? text.substr(0, text.size() - 2) : text, &used);
      if (used != (px ? text.size() - 2 : text.size())) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      throw cli::usage_error("patch-attack: --sizes expects fractions like 0.3 or pixel sizes like 20px, got '" + text + "'");
    }
    const double fraction = px ? v / side : v;
    actatlas::patch_side_pixels(fraction, static_cast<std::int64_t>(side));  // too large or not positive: one line
    return fraction;
  };
  o.sizes.clear();
  std::stringstream list(sizes_text);
  for (std::string item; std::getline(list, item, ',');)
    if (!item.empty()) o.sizes.push_back(parse_size(item));
  if (o.sizes.empty()) throw cli::usage_error("patch-attack: --sizes needs at least one size");
  o.fixed_size = o.sizes.size() / 2;
  if (!fixed_size_text.empty()) {
    const double f = parse_size(fixed_size_text);
    o.sizes.push_back(f);
    std::sort(o.sizes.begin(), o.sizes.end());
    o.sizes.erase(std::unique(o.sizes.begin(), o.sizes.end()), o.sizes.end());
    o.fixed_size = static_cast<std::size_t>(std::find(o.sizes.begin(), o.sizes.end(), f) - o.sizes.begin());
  }
  const auto source = actatlas::experiments::resolve_class(source_name, info.class_names, "--source");
  const auto target = actatlas::experiments::resolve_class(target_name, info.class_names, "--target");
  const auto files = actatlas::class_images(images, info.class_names.at(source), info.class_names);
  o.progress = actatlas::progress_bar{};
  const auto row = actatlas::patch_attack(*model, patch, patch_path.filename().string(), files, static_cast<std::int64_t>(source),
                                          static_cast<std::int64_t>(target), o);
  if (row.correct_before == 0)
    std::fprintf(stderr, "patch-attack: the model classified none of the %zu images as %s; nothing to flip\n", row.images,
                 row.source.c_str());
  const auto table = actatlas::experiments::attack_markdown({row});
  actatlas::io::atomic_write(out / "patch_attack.csv", [&](std::ostream& os) { os << actatlas::experiments::attack_csv({row}); });
  actatlas::io::atomic_write(out / "patch_attack.md", [&](std::ostream& os) { os << table; });
  std::printf("%s", table.c_str());
  return 0;
}

const bool registered = cli::add_command(
    {"patch-attack", "paste a patch into a class's images: flip rates to a target vs noise", usage, run_patch_attack});

}  // namespace
