// Feature-inversion throughput: the cost of one optimisation step of render_icons for B
// icons, side by side with its floor, on the CPU or CUDA. One table on stdout.
//
//   bench_inversion [--device auto|cpu|cuda] [--steps N] [--batches 1,8,32,64]
//                   [--models demo,inception,FILE.pt@LAYER] [--size 80] [--threads T] [--repeats R]
//                   [--clock wall|cpu] [--trace FILE.json]
//
// --trace: instead of the table, one render of N steps of the first model and batch under
// LibTorch's profiler, written as a Chrome trace (chrome://tracing, or sum the "dur" of
// each op name): where the step's time goes, op by op, measured in one run.
//
// Per row (model, batch B), after a warm-up:
//  - "step": render_icons with attempts = 1 at 2 and 2 + N steps, the difference over N, so
//    set-up, the final scoring pass and the first (slow) step cancel out;
//  - "floor": one bare forward + backward of the same batch (B images of the size the
//    network sees after the transforms) through the network cut at the layer
//    (classifier::features), gradient to the input only: what no renderer can go below;
//  - "whole": the same through the whole network (forward()), what stopping at the layer saves;
//  - "image": the rest of the step without the network: Fourier image, colour
//    decorrelation, sigmoid, transforms, backward to the spectrum, Adam.
// Each is the best of R runs (the machine may be shared). "ratio" is step / floor, the
// issue's target being <= 1.3; ms are per step for the whole batch, "icon-ms" per icon.
// FILE.pt@LAYER is a TorchScript file from tools/export_torchvision.py, e.g. the realdata
// MobileNetV2 at features.13.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
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
#include <actatlas/torch/load_model.hpp>
#include <actatlas/torch/torchscript_model.hpp>

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

// --clock cpu: the process's CPU time instead of the wall clock. On a machine shared with
// other jobs, with one thread, it counts only this process's work (use with --threads 1).
bool use_cpu_clock = false;

double clock_seconds() {
  if (use_cpu_clock) {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double seconds_for(actatlas::classifier& model, const std::string& layer, const torch::Tensor& dirs,
                   inv::render_options o) {
  const double t0 = clock_seconds();
  auto icons = inv::render_icons(model, layer, dirs, actatlas::objective::cossim_dot<4>{}, o);
  (void)icons;  // render_icons ends with a copy to the CPU, which waits for the device
  return clock_seconds() - t0;
}

double now_seconds(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
  return clock_seconds();
}

// Seconds per call of `f`, best of `repeats` runs of `calls` calls, after one warm-up call.
template <class F>
double best_per_call(const torch::Device& device, int repeats, int calls, F&& f) {
  f();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = now_seconds(device);
    for (int i = 0; i < calls; ++i) f();
    best = std::min(best, (now_seconds(device) - t0) / calls);
  }
  return best;
}

// One forward + backward to the input through `pass` (features or forward), the centre
// activation summed: the network's share of an optimisation step.
double network_seconds(actatlas::classifier& model, const std::string& layer, std::int64_t batch, std::int64_t side,
                       bool whole, int repeats, int calls) {
  const auto device = model.device();
  auto x = torch::rand({batch, 3, side, side}, torch::TensorOptions().device(device)).requires_grad_(true);
  return best_per_call(device, repeats, calls, [&] {
    torch::Tensor h;
    if (whole) {
      const auto a = model.forward(x, {layer}).at(layer);
      h = a.select(3, a.size(3) / 2).select(2, a.size(2) / 2);
    } else {
      h = inv::detail::centre_activation(model, x, layer);  // what render_icons runs
    }
    (void)torch::autograd::grad({h.sum()}, {x});
  });
}

// The step without the network: what render_icons does around it, with the objective's
// gradient replaced by a sum over the transformed pixels.
double image_seconds(const torch::Device& device, std::int64_t batch, std::int64_t size, int repeats, int calls) {
  std::vector<std::uint64_t> seeds(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < seeds.size(); ++i) seeds[i] = i + 1;
  inv::fourier_image param(seeds, 3, size, size, device);
  torch::optim::Adam adam({param.spectrum()}, torch::optim::AdamOptions(0.05));
  const auto transforms = inv::article_reference_transforms(size);
  const auto color = inv::imagenet_color_sqrt();
  at::Generator gen = at::detail::createCPUGenerator(7);
  return best_per_call(device, repeats, calls, [&] {
    auto rgb = torch::sigmoid(inv::decorrelated_to_rgb(param.image(), color));
    auto seen = inv::apply_transforms(transforms, rgb, gen);
    auto grads = torch::autograd::grad({seen.mean()}, {param.spectrum()});
    param.spectrum().mutable_grad() = grads[0];
    adam.step();
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_text = "auto", models_text = "demo,inception", batches_text = "1,8,32,64";
  std::int64_t steps = 8, size = 80;
  int threads = 0, repeats = 2;
  std::string trace;
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
    else if (a == "--repeats") repeats = std::max(1, std::stoi(next()));
    else if (a == "--clock") use_cpu_clock = next() == "cpu";
    else if (a == "--trace") trace = next();
    else if (a == "--help" || a == "-h") {
      std::printf("bench_inversion [--device auto|cpu|cuda] [--steps N] [--batches 1,8,32,64] "
                  "[--models demo,inception,FILE.pt@LAYER] [--size 80] [--threads T] [--repeats R] [--clock wall|cpu] [--trace FILE.json]\n");
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
    std::printf("# feature inversion, %lld px icons, device %s, %d CPU threads, %lld timed steps, best of %d, %s clock\n",
                static_cast<long long>(size), device.str().c_str(), torch::get_num_threads(), static_cast<long long>(steps),
                repeats, use_cpu_clock ? "process CPU" : "wall");
    std::printf("%-28s %5s %9s %9s %9s %9s %9s %9s %7s %7s\n", "model@layer", "batch", "step ms", "icon-ms", "floor ms",
                "whole ms", "image ms", "other ms", "ratio", "icons/s");
    std::stringstream ms(models_text);
    std::string which;
    while (std::getline(ms, which, ',')) {
      std::unique_ptr<actatlas::classifier> model;
      std::string layer, label = which;
      if (which == "demo") {
        model = untrained_demo_model();
        layer = "conv4";
      } else if (which == "inception") {
        model = std::make_unique<actatlas::inception_v1>(actatlas::inception_v1::random_init{1});
        layer = "mixed4c";
      } else if (const auto at = which.rfind('@'); at != std::string::npos) {
        model = actatlas::load_model(which.substr(0, at), torch::kCPU);
        layer = which.substr(at + 1);
        label = std::filesystem::path(which.substr(0, at)).stem().string();
        if (auto* ts = dynamic_cast<actatlas::torchscript_model*>(model.get()); ts && !ts->stops_at_layer())
          label += "(old)";  // exported without the features method: the whole network per step
      } else {
        std::fprintf(stderr, "bench_inversion: unknown model %s (demo, inception, FILE.pt@LAYER)\n", which.c_str());
        return 2;
      }
      label += "@" + layer;
      model->to(device);
      std::int64_t dims = 0;
      for (const auto& l : model->info().layers)
        if (l.name == layer) dims = l.channels;
      // The side the network sees: the reference transforms end with a crop back to `size`.
      const auto seen = inv::transformed_size(inv::article_reference_transforms(size), size, size);
      for (std::int64_t b : batches) {
        auto gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(b));
        auto dirs = torch::rand({b, dims}, gen, torch::kFloat32);
        inv::render_options o;
        o.size = size;
        o.attempts = 1;
        o.steps = 2;
        seconds_for(*model, layer, dirs, o);  // warm-up: allocator, cuDNN's algorithm choice, caches
        if (!trace.empty()) {
          o.steps = steps;
          {
            torch::autograd::profiler::RecordProfile profile(trace);
            seconds_for(*model, layer, dirs, o);
          }
          std::printf("trace of %s, batch %lld, %lld steps: %s\n", label.c_str(), static_cast<long long>(b),
                      static_cast<long long>(steps), trace.c_str());
          return 0;
        }
        double per_step = 1e30;
        for (int r = 0; r < repeats; ++r) {
          o.steps = 2;
          const double short_run = seconds_for(*model, layer, dirs, o);
          o.steps = 2 + steps;
          const double long_run = seconds_for(*model, layer, dirs, o);
          per_step = std::min(per_step, std::max(1e-9, (long_run - short_run) / static_cast<double>(steps)));
        }
        const int calls = static_cast<int>(std::max<std::int64_t>(4, steps / 4));
        const double floor = network_seconds(*model, layer, b, seen[0], false, repeats, calls);
        const double whole = network_seconds(*model, layer, b, seen[0], true, repeats, calls);
        const double image = image_seconds(device, b, size, repeats, calls);
        const double icons = static_cast<double>(b) / per_step / 4096.0;  // at 1024 steps × 4 attempts
        std::printf("%-28s %5lld %9.2f %9.3f %9.2f %9.2f %9.2f %9.2f %6.2fx %7.4f\n", label.c_str(),
                    static_cast<long long>(b), per_step * 1e3, per_step * 1e3 / static_cast<double>(b), floor * 1e3,
                    whole * 1e3, image * 1e3, (per_step - floor - image) * 1e3, per_step / floor, icons);
        std::fflush(stdout);
      }
    }
  } catch (const actatlas::input_error& e) {
    std::fprintf(stderr, "bench_inversion: %s\n", e.what());
    return 2;
  }
  return 0;
}
