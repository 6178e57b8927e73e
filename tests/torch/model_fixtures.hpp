// Shared by the model-side tests: a small TorchScript classifier built in C++ (no Python),
// saved with its actatlas.json like tools/export_torchvision.py would, and image folders.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <actatlas/detail/stb.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace fixtures {

namespace fs = std::filesystem;

//! Removes the scratch folders of this process when the test program ends.
struct scratch_registry {
  std::vector<fs::path> dirs;
  ~scratch_registry() {
    std::error_code ignored;
    for (const auto& d : dirs) fs::remove_all(d, ignored);
  }
};
inline scratch_registry& scratch_dirs() {
  static scratch_registry registry;
  return registry;
}

//! A fresh folder for one test, under $ACTATLAS_TEST_DATA (set by ctest) or the temp dir.
inline fs::path scratch(const std::string& name) {
  const char* base = std::getenv("ACTATLAS_TEST_DATA");
  // The process id keeps two runs of the suite (two build folders) out of each other's way.
  fs::path dir = fs::path(base ? base : fs::temp_directory_path().string()) /
                 ("actatlas-model-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  scratch_dirs().dirs.push_back(dir);
  return dir;
}

//! TinyNet: 16×16 RGB → conv(3→4) relu "block1" [4,16,16] → maxpool 2 → conv(4→6) tanh
//! "block2" [6,8,8] → head: conv(6→5) tanh, maxpool 2, spatial mean, linear → 7 logits.
//! The head is non-linear in block2 (tanh, max-pool), so attribution is not trivially linear.
//! `head(h)` is exposed separately so tests can perturb block2 and take finite differences.
//! How TinyNet's optional `features` method (torchscript_model.hpp) behaves.
enum class tiny_features {
  none,   //!< no such method: an archive exported before it existed
  exact,  //!< stops after the deepest asked layer, same values as forward
  wrong,  //!< returns block1 doubled: must be refused at load
};

inline torch::jit::Module tiny_net(std::uint64_t seed = 1, tiny_features features = tiny_features::none) {
  torch::manual_seed(seed);
  torch::jit::Module m("TinyNet");
  m.register_parameter("w1", torch::randn({4, 3, 3, 3}) * 0.5, false);
  m.register_parameter("b1", torch::randn({4}) * 0.1, false);
  m.register_parameter("w2", torch::randn({6, 4, 3, 3}) * 0.4, false);
  m.register_parameter("b2", torch::randn({6}) * 0.1, false);
  m.register_parameter("w3", torch::randn({5, 6, 3, 3}) * 0.4, false);
  m.register_parameter("b3", torch::randn({5}) * 0.1, false);
  m.register_parameter("wl", torch::randn({7, 5}), false);
  m.register_parameter("bl", torch::randn({7}) * 0.1, false);
  m.define(R"JIT(
def head(self, h: Tensor) -> Tensor:
    a = torch.tanh(torch.conv2d(h, self.w3, self.b3, [1, 1], [1, 1]))
    p = torch.max_pool2d(a, [2, 2])
    f = torch.mean(p, [2, 3])
    return torch.linear(f, self.wl, self.bl)

def forward(self, x: Tensor) -> Dict[str, Tensor]:
    y = torch.relu(torch.conv2d((x - 0.5) / 0.25, self.w1, self.b1, [1, 1], [1, 1]))
    z = torch.max_pool2d(y, [2, 2])
    h = torch.tanh(torch.conv2d(z, self.w2, self.b2, [1, 1], [1, 1]))
    return {"logits": self.head(h), "block1": y, "block2": h}
)JIT");
  if (features != tiny_features::none) {
    m.define(std::string(R"JIT(
def features(self, x: Tensor, layers: List[str]) -> Dict[str, Tensor]:
    out: Dict[str, Tensor] = {}
    y = torch.relu(torch.conv2d((x - 0.5) / 0.25, self.w1, self.b1, [1, 1], [1, 1]))
    if "block1" in layers:
        out["block1"] = y * )JIT") + (features == tiny_features::wrong ? "2.0" : "1.0") + R"JIT(
    if "block2" in layers:
        z = torch.max_pool2d(y, [2, 2])
        out["block2"] = torch.tanh(torch.conv2d(z, self.w2, self.b2, [1, 1], [1, 1]))
    return out
)JIT");
  }
  m.eval();
  return m;
}

inline const char* tiny_net_metadata =
    R"({"input_size": [16, 16], "class_names": ["a", "b", "c", "d", "e", "f", "g"],
        "layers": [{"name": "block1", "channels": 4}, {"name": "block2", "channels": 6}]})";

//! Saves TinyNet with (or without) its metadata.
inline fs::path save_tiny_net(const fs::path& path, std::uint64_t seed = 1, const char* metadata = tiny_net_metadata,
                              tiny_features features = tiny_features::none) {
  torch::jit::ExtraFilesMap extra;
  if (metadata) extra["actatlas.json"] = metadata;
  tiny_net(seed, features).save(path.string(), extra);
  return path;
}

//! A w×h RGB PNG whose colour varies smoothly with position and `seed`.
inline void write_png(const fs::path& path, int w, int h, int seed, int channels = 3) {
  std::vector<unsigned char> px(static_cast<std::size_t>(w) * h * channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        px[(static_cast<std::size_t>(y) * w + x) * channels + c] =
            static_cast<unsigned char>((x * 7 + y * 3 + seed * 37 + c * 80 + (x * y * (seed + 1)) % 23) % 256);
  stbi_write_png(path.c_str(), w, h, channels, px.data(), w * channels);
}

inline void write_jpg(const fs::path& path, int w, int h, int seed) {
  std::vector<unsigned char> px(static_cast<std::size_t>(w) * h * 3);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<unsigned char>((i * 13 + seed * 29) % 251);
  stbi_write_jpg(path.c_str(), w, h, 3, px.data(), 90);
}

inline void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

//! `n` good images (PNG, JPEG and BMP, various sizes) in nested folders.
inline std::vector<fs::path> image_folder(const fs::path& root, int n) {
  std::vector<fs::path> made;
  for (int i = 0; i < n; ++i) {
    const fs::path dir = root / (i % 3 == 0 ? "a" : i % 3 == 1 ? "b/deeper" : "");
    fs::create_directories(dir);
    char name[32];
    std::snprintf(name, sizeof name, "img%03d", i);
    const int w = 20 + (i * 7) % 30, h = 18 + (i * 5) % 25;
    fs::path p;
    if (i % 4 == 1) {
      p = dir / (std::string(name) + ".jpg");
      write_jpg(p, w, h, i);
    } else if (i % 4 == 3) {
      p = dir / (std::string(name) + ".bmp");
      std::vector<unsigned char> px(static_cast<std::size_t>(w) * h * 3, static_cast<unsigned char>(i * 11));
      stbi_write_bmp(p.c_str(), w, h, 3, px.data());
    } else {
      p = dir / (std::string(name) + ".png");
      write_png(p, w, h, i);
    }
    made.push_back(p);
  }
  return made;
}

}  // namespace fixtures
