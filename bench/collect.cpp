// bench_collect: what collection costs on top of the model.
//
//   1. images/s of the bare forward pass on pre-decoded batches, against collection
//      without attribution (decode + forward + sampling + shards + merge) and with
//      attribution to every class (one double backward per batch);
//   2. peak resident memory of a 20,000-sample and a 200,000-sample collection, each in
//      a fresh child process (it should be flat in N).
//
// A small synthetic TorchScript model and synthetic PNGs, so it runs anywhere in minutes:
//   bench_collect [--images 256] [--batch 32] [--classes 1000] [--small 20000] [--large 200000]
#include <actatlas/detail/stb.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/attribution.hpp>
#include <actatlas/torch/collect.hpp>
#include <actatlas/torch/image_batches.hpp>
#include <actatlas/torch/load_model.hpp>

#include <torch/script.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <spawn.h>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>

extern char** environ;
namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// 64×64 input, four conv stages, layer "mid" [B,64,16,16], C logits.
fs::path make_model(const fs::path& dir, int classes) {
  torch::manual_seed(0);
  torch::jit::Module m("BenchNet");
  auto conv = [&](const char* name, int out, int in) {
    m.register_parameter(std::string("w") + name, torch::randn({out, in, 3, 3}) / std::sqrt(9.0 * in), false);
    m.register_parameter(std::string("b") + name, torch::zeros({out}), false);
  };
  conv("1", 32, 3);
  conv("2", 64, 32);
  conv("3", 128, 64);
  conv("4", 256, 128);
  m.register_parameter("wl", torch::randn({classes, 256}) / 16.0, false);
  m.register_parameter("bl", torch::zeros({classes}), false);
  m.define(R"JIT(
def forward(self, x: Tensor) -> Dict[str, Tensor]:
    a = torch.relu(torch.conv2d(x, self.w1, self.b1, [1, 1], [1, 1]))
    a = torch.max_pool2d(a, [2, 2])
    mid = torch.relu(torch.conv2d(a, self.w2, self.b2, [1, 1], [1, 1]))
    b = torch.max_pool2d(mid, [2, 2])
    b = torch.relu(torch.conv2d(b, self.w3, self.b3, [1, 1], [1, 1]))
    b = torch.max_pool2d(b, [2, 2])
    b = torch.relu(torch.conv2d(b, self.w4, self.b4, [1, 1], [1, 1]))
    f = torch.mean(b, [2, 3])
    return {"logits": torch.linear(f, self.wl, self.bl), "mid": mid}
)JIT");
  torch::jit::ExtraFilesMap extra{{"actatlas.json", R"({"input_size": [64, 64], "layers": [{"name": "mid", "channels": 64}]})"}};
  const auto path = dir / "benchnet.pt";
  m.save(path.string(), extra);
  return path;
}

// The memory test's model: 16×16 input, layer "mid" [B,16,16,16], C logits; cheap enough
// that 200,000 samples with attribution take a minute, while each attribution row is still C floats.
fs::path make_small_model(const fs::path& dir, int classes) {
  torch::manual_seed(1);
  torch::jit::Module m("SmallNet");
  m.register_parameter("w1", torch::randn({16, 3, 3, 3}) / 5.0, false);
  m.register_parameter("w2", torch::randn({32, 16, 3, 3}) / 12.0, false);
  m.register_parameter("wl", torch::randn({classes, 32}) / 6.0, false);
  m.define(R"JIT(
def forward(self, x: Tensor) -> Dict[str, Tensor]:
    mid = torch.relu(torch.conv2d(x, self.w1, None, [1, 1], [1, 1]))
    b = torch.relu(torch.conv2d(torch.max_pool2d(mid, [2, 2]), self.w2, None, [1, 1], [1, 1]))
    return {"logits": torch.linear(torch.mean(b, [2, 3]), self.wl), "mid": mid}
)JIT");
  torch::jit::ExtraFilesMap extra{{"actatlas.json", R"({"input_size": [16, 16], "layers": ["mid"]})"}};
  const auto path = dir / "smallnet.pt";
  m.save(path.string(), extra);
  return path;
}

void make_images(const fs::path& dir, int n) {
  fs::create_directories(dir);
  std::vector<unsigned char> px(96 * 80 * 3);
  for (int i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < px.size(); ++k) px[k] = static_cast<unsigned char>((k * 31 + i * 97 + (k / 240) * i) % 256);
    char name[32];
    std::snprintf(name, sizeof name, "%05d.png", i);
    stbi_write_png((dir / name).c_str(), 96, 80, 3, px.data(), 96 * 3);
  }
}

long child_peak_rss_kib(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string self = fs::read_symlink("/proc/self/exe").string();
  argv.push_back(self.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return usage.ru_maxrss;
}

int child_collect(const fs::path& model_path, const fs::path& images, const fs::path& out, std::uint64_t samples,
                  std::size_t batch) {
  torch::set_num_threads(1);
  auto model = actatlas::load_model(model_path, torch::kCPU);
  fs::remove_all(out);
  const auto t = clock_type::now();
  const auto s = actatlas::collect(*model, images, out, actatlas::sampler::random_position{},
                                   {.layer = "mid", .samples = samples, .repeat_images = true, .batch = batch,
                                    .shard_batches = 16, .attribution = true, .decode_threads = 1});
  std::printf("  child: %llu samples in %.1f s, activations.npy %.1f MiB, attributions.npy %.1f MiB\n",
              static_cast<unsigned long long>(s.samples), seconds_since(t),
              fs::file_size(out / "activations.npy") / 1048576.0, fs::file_size(out / "attributions.npy") / 1048576.0);
  fs::remove_all(out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  auto opt = [&](const std::string& key, long fallback) {
    for (std::size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == key) return std::stol(a[i + 1]);
    return fallback;
  };
  if (!a.empty() && a[0] == "--child")
    return child_collect(a.at(1), a.at(2), a.at(3), std::stoull(a.at(4)), std::stoul(a.at(5)));

  const int n_images = static_cast<int>(opt("--images", 256));
  const auto batch = static_cast<std::size_t>(opt("--batch", 32));
  const int classes = static_cast<int>(opt("--classes", 1000));
  const auto small = static_cast<std::uint64_t>(opt("--small", 20000));
  const auto large = static_cast<std::uint64_t>(opt("--large", 200000));

  const fs::path dir = fs::temp_directory_path() / "actatlas-bench-collect";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto model_path = make_model(dir, classes);
  const auto small_model_path = make_small_model(dir, classes);
  make_images(dir / "images", n_images);
  auto model = actatlas::load_model(model_path, torch::kCPU);
  std::printf("bench_collect: %d images 96×80 → 64×64, batch %zu, layer mid [64,32,32], %d classes, %d torch threads\n",
              n_images, batch, classes, torch::get_num_threads());

  // Pre-decoded batches for the bare forward pass.
  const auto files = actatlas::io::list_images(dir / "images");
  std::vector<torch::Tensor> batches;
  {
    actatlas::image_batch_reader reader([&](std::uint64_t v) { return files[v]; }, 0, files.size(), 64, 64,
                                        {.batch = batch, .threads = 1});
    while (auto b = reader.next()) batches.push_back(b->pixels);
  }
  const actatlas::sampler::random_position sampler;
  auto bare = [&] {
    torch::NoGradGuard no_grad;
    const auto t = clock_type::now();
    for (const auto& x : batches) (void)model->forward(x, {"mid"});
    return n_images / seconds_since(t);
  };
  auto attributed = [&] {
    const auto t = clock_type::now();
    for (const auto& x : batches) {
      std::vector<actatlas::sample_site> sites;
      for (std::int64_t i = 0; i < x.size(0); ++i) sites.push_back({i, sampler.positions(static_cast<std::uint64_t>(i), 32, 32)[0]});
      (void)actatlas::sample_layer(*model, x, "mid", sites, true);
    }
    return n_images / seconds_since(t);
  };
  auto collection = [&](bool attribution) {
    fs::remove_all(dir / "run");
    const auto t = clock_type::now();
    actatlas::collect(*model, dir / "images", dir / "run", sampler,
                      {.layer = "mid", .batch = batch, .attribution = attribution});
    return n_images / seconds_since(t);
  };
  bare();  // warm-up
  // Interleaved repetitions, best of three each, so that load from other processes hits all alike.
  double f = 0, c0 = 0, c1 = 0, s1 = 0;
  for (int rep = 0; rep < 3; ++rep) {
    f = std::max(f, bare());
    c0 = std::max(c0, collection(false));
    s1 = std::max(s1, attributed());
    c1 = std::max(c1, collection(true));
  }
  std::printf("  bare forward (pre-decoded)           %8.1f images/s\n", f);
  std::printf("  collect, no attribution (decode+disk)%8.1f images/s   overhead %+.1f%%\n", c0, 100.0 * (f / c0 - 1));
  std::printf("  forward + attribution (pre-decoded)  %8.1f images/s   %.2f× the forward time\n", s1, f / s1);
  std::printf("  collect with attribution             %8.1f images/s   %.2f× the forward time\n", c1, f / c1);

  std::printf("peak memory (fresh process each, 16×16 model, layer [16,16,16], attribution to %d classes):\n", classes);
  for (auto n : {small, large}) {
    const long kib = child_peak_rss_kib({"--child", small_model_path.string(), (dir / "images").string(),
                                         (dir / ("mem-" + std::to_string(n))).string(), std::to_string(n),
                                         std::to_string(batch)});
    std::printf("  %7llu samples: peak RSS %.1f MiB\n", static_cast<unsigned long long>(n), kib / 1024.0);
  }
  fs::remove_all(dir);
  return 0;
}
