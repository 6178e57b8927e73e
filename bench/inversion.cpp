// Feature-inversion throughput: how many icons per second render_icons makes at 80 px, for
// batch sizes 1, 8, 32, 64, on the demo CNN (at conv4) and on InceptionV1 (random weights,
// at mixed4c), on the CPU or CUDA. One table on stdout.
//
//   bench_inversion [--device auto|cpu|cuda] [--steps N] [--batches 1,8,32,64]
//                   [--models demo,inception] [--size 80] [--threads T]
//
// Each row, after a warm-up call, times render_icons with attempts = 1 at two step counts
// (2 and 2 + N) and takes
// the difference, so set-up, the final scoring pass and the first (slow) step cancel out:
// what remains is the cost of one optimisation step for B icons. "icons/s" is then
// B / (seconds per step × 4096), i.e. at the article's reference of 1024 steps × 4 attempts;
// "speed-up" compares icons/s with batch size 1 of the same model.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/objective/cossim_dot.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/inception_v1.hpp>
#include <actatlas/torch/inversion/render_icons.hpp>

namespace inv = actatlas::inversion;

namespace {

std::vector<std::int64_t> parse_list(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoll(item));
  return out;
}

// The demo CNN's architecture with its seeded initial weights: throughput does not depend on
// training, and the benchmark then needs no trained file.
std::unique_ptr<actatlas::demo_model> untrained_demo_model() {
  actatlas::demo_model_options o;
  torch::manual_seed(o.seed);
  const auto classes = static_cast<std::int64_t>(actatlas::demo::class_count());
  actatlas::demo_cnn net(classes, o.widths);
  nlohmann::json meta;
  meta["input_size"] = o.image_size;
  meta["class_names"] = actatlas::demo::class_names();
  meta["layers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < 4; ++i) meta["layers"].push_back({{"name", "conv" + std::to_string(i + 1)}, {"channels", o.widths[i]}});
  return std::make_unique<actatlas::demo_model>(net, meta);
}

double seconds_for(actatlas::classifier& model, const std::string& layer, const torch::Tensor& dirs,
                   inv::render_options o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto icons = inv::render_icons(model, layer, dirs, actatlas::objective::cossim_dot<4>{}, o);
  (void)icons;  // render_icons ends with a copy to the CPU, which waits for the device
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_text = "auto", models_text = "demo,inception", batches_text = "1,8,32,64";
  std::int64_t steps = 8, size = 80;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_inversion: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--device") device_text = next();
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--batches") batches_text = next();
    else if (a == "--models") models_text = next();
    else if (a == "--size") size = std::stoll(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--help" || a == "-h") {
      std::printf("bench_inversion [--device auto|cpu|cuda] [--steps N] [--batches 1,8,32,64] "
                  "[--models demo,inception] [--size 80] [--threads T]\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_inversion: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  try {
    if (threads > 0) torch::set_num_threads(threads);
    const torch::Device device = actatlas::pick_device(device_text);
    const auto batches = parse_list(batches_text);
    std::printf("# feature inversion, %lld px icons, device %s, %d CPU threads, %lld timed steps per row\n",
                static_cast<long long>(size), device.str().c_str(), torch::get_num_threads(), static_cast<long long>(steps));
    std::printf("%-22s %6s %12s %16s %18s %9s\n", "model@layer", "batch", "ms/step", "icon-steps/s",
                "icons/s (1024x4)", "speed-up");
    std::stringstream ms(models_text);
    std::string which;
    while (std::getline(ms, which, ',')) {
      std::unique_ptr<actatlas::classifier> model;
      std::string layer;
      if (which == "demo") {
        model = untrained_demo_model();
        layer = "conv4";
      } else if (which == "inception") {
        model = std::make_unique<actatlas::inception_v1>(actatlas::inception_v1::random_init{1});
        layer = "mixed4c";
      } else {
        std::fprintf(stderr, "bench_inversion: unknown model %s (demo, inception)\n", which.c_str());
        return 2;
      }
      model->to(device);
      std::int64_t dims = 0;
      for (const auto& l : model->info().layers)
        if (l.name == layer) dims = l.channels;
      double base = 0.0;
      for (std::int64_t b : batches) {
        auto gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(b));
        auto dirs = torch::rand({b, dims}, gen, torch::kFloat32);
        inv::render_options o;
        o.size = size;
        o.attempts = 1;
        o.steps = 2;
        seconds_for(*model, layer, dirs, o);  // warm-up: allocator, cuDNN's algorithm choice, caches
        const double short_run = seconds_for(*model, layer, dirs, o);
        o.steps = 2 + steps;
        const double long_run = seconds_for(*model, layer, dirs, o);
        const double per_step = std::max(1e-9, (long_run - short_run) / static_cast<double>(steps));
        const double icon_steps = static_cast<double>(b) / per_step;
        const double icons = icon_steps / 4096.0;
        if (b == batches.front()) base = icons;
        std::printf("%-22s %6lld %12.2f %16.1f %18.4f %8.1fx\n", (which + "@" + layer).c_str(), static_cast<long long>(b),
                    per_step * 1e3, icon_steps, icons, icons / base);
        std::fflush(stdout);
      }
    }
  } catch (const actatlas::input_error& e) {
    std::fprintf(stderr, "bench_inversion: %s\n", e.what());
    return 2;
  }
  return 0;
}
