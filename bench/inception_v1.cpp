// InceptionV1 speed: images/s of the full forward pass, of an early-stopping features()
// pass, and of forward + backward (one logit's gradient at mixed4c) with max-pool's exact
// gradient against lucid's l2 relaxation, side by side on the same batches.
//
//   bench_inception_v1 [--batch B] [--repeats R] [--device cpu|cuda]
//
// Random weights (the speed does not depend on them). Prints one line per measurement.
#include <actatlas/torch/inception_v1.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace {

double seconds_per_call(const std::function<void()>& f, int repeats, bool cuda) {
  f();  // warm-up (allocator, cuDNN algorithm choice)
  if (cuda) torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) f();
  if (cuda) torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 8, repeats = 3;
  std::string device_name = torch::cuda::is_available() ? "cuda" : "cpu";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--batch") batch = std::atoi(argv[i + 1]);
    else if (a == "--repeats") repeats = std::atoi(argv[i + 1]);
    else if (a == "--device") device_name = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: bench_inception_v1 [--batch B] [--repeats R] [--device cpu|cuda]\n");
      return 2;
    }
  }
  const bool cuda = device_name == "cuda";
  const torch::Device device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  actatlas::inception_v1 model(actatlas::inception_v1::random_init{0});
  model.to(device);
  const auto x = torch::rand({batch, 3, 224, 224}).to(device);
  std::printf("InceptionV1, batch %d, %s, %d threads\n", batch, device_name.c_str(), torch::get_num_threads());

  auto report = [&](const char* what, double s) {
    std::printf("%-44s %8.1f ms/batch %8.1f images/s\n", what, s * 1e3, batch / s);
  };
  {
    torch::NoGradGuard no_grad;
    report("forward (logits)", seconds_per_call([&] { (void)model.forward(x, {}); }, repeats, cuda));
    report("features(mixed3b), stops early", seconds_per_call([&] { (void)model.features(x, {"mixed3b"}); }, repeats, cuda));
    report("features(mixed4c), stops early", seconds_per_call([&] { (void)model.features(x, {"mixed4c"}); }, repeats, cuda));
  }
  for (auto g : {actatlas::pool_gradient::exact, actatlas::pool_gradient::l2_relaxation,
                 actatlas::pool_gradient::avg_relaxation}) {
    model.set_max_pool_gradient(g);
    const std::string what = "forward + d logit/d mixed4c, " + std::string(actatlas::to_string(g));
    report(what.c_str(), seconds_per_call(
                             [&] {
                               auto out = model.forward(x, {"mixed4c"});
                               (void)torch::autograd::grad({out.at("logits").select(1, 1).sum()}, {out.at("mixed4c")});
                             },
                             repeats, cuda));
  }
  return 0;
}
