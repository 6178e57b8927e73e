/// @file torch/demo_model.hpp
/// The demo model: a small CNN that the library trains itself, on the CPU, on the
/// procedural image set of <actatlas/demo/procedural_images.hpp>, so that an atlas can be
/// built on any machine with no download.
///
/// Architecture (input 64×64 RGB in [0,1], normalised inside as (x − 0.5) / 0.25):
///
/// | layer   | what                                | output (64×64 input)  |
/// |---------|-------------------------------------|-----------------------|
/// | `conv1` | conv 3×3, 3→16, batch norm, ReLU    | 16 × 64 × 64          |
/// | `conv2` | max-pool 2, conv 3×3 →32, BN, ReLU  | 32 × 32 × 32          |
/// | `conv3` | max-pool 2, conv 3×3 →64, BN, ReLU  | 64 × 16 × 16          |
/// | `conv4` | max-pool 2, conv 3×3 →128, BN, ReLU | 128 × 8 × 8           |
/// | logits  | global average pool, linear →16     | 16                    |
///
/// The exposed layers are the post-ReLU maps, before the next pooling: what the atlas
/// samples. Global average pooling keeps the classifier's view translation invariant,
/// so every position of conv4 speaks the same "language" as the article's mixed4c.
///
/// Training draws fresh images for every batch (no image is seen twice), with Adam and a
/// cosine learning-rate decay; held-out accuracy is measured on images from another seed.
/// The same options (seed, threads included) give the same weights, bit for bit.
///
/// File: one LibTorch archive (`torch::serialize::OutputArchive`) holding the parameters,
/// the batch-norm buffers and a JSON string under the key `actatlas_demo_json` (class
/// names, layers, input size, accuracy, seed, options). `is_demo_model_file(path)` says
/// whether a file is one; `load_demo_model(path)` loads it.
///
/// @code
/// auto model = actatlas::load_or_train_demo_model(actatlas::default_demo_cache_dir(), {}, actatlas::progress_bar{});
/// auto out = model->forward(torch::rand({1, 3, 64, 64}), {"conv3"});   // out["logits"], out["conv3"]
/// @endcode
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../demo/procedural_images.hpp"
#include "../error.hpp"
#include "../io/atomic_file.hpp"
#include "../progress.hpp"
#include "classifier.hpp"

namespace actatlas {

//! How the demo model is built and trained. The defaults are the reference demo model.
struct demo_model_options {
  std::uint64_t seed = 1;                        //!< weights' initialisation and the training images
  std::array<std::int64_t, 4> widths{16, 32, 64, 128};  //!< channels of conv1..conv4
  int image_size = demo::default_image_size;     //!< input side in pixels
  int steps = 500;                               //!< optimiser steps
  int batch_size = 48;                           //!< images per step (balanced over the classes)
  double learning_rate = 4e-3;                   //!< Adam's peak rate, decayed to 0 by a cosine
  double weight_decay = 1e-4;                    //!< L2 on every weight (Adam's coupled form)
  int heldout_per_class = 64;                    //!< held-out images per class for the accuracy
  int threads = 2;                               //!< LibTorch intra-op threads while training (part of the determinism)

  nlohmann::json to_json() const {
    return {{"seed", seed},   {"widths", widths},         {"image_size", image_size},
            {"steps", steps}, {"batch_size", batch_size}, {"learning_rate", learning_rate},
            {"weight_decay", weight_decay}, {"heldout_per_class", heldout_per_class}, {"threads", threads}};
  }
};

//! The network itself (a LibTorch module).
struct demo_cnn_impl : torch::nn::Module {
  demo_cnn_impl(std::int64_t classes, std::array<std::int64_t, 4> widths) {
    std::int64_t in = 3;
    for (std::size_t i = 0; i < 4; ++i) {
      const std::string n = std::to_string(i + 1);
      convs[i] = register_module("conv" + n, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, widths[i], 3).padding(1).bias(false)));
      norms[i] = register_module("bn" + n, torch::nn::BatchNorm2d(widths[i]));
      in = widths[i];
    }
    fc = register_module("fc", torch::nn::Linear(in, classes));
  }

  //! Logits, and each block's output whose index is set in `keep` (nullptr: none).
  torch::Tensor forward(torch::Tensor x, std::array<torch::Tensor, 4>* keep = nullptr) {
    return fc->forward(blocks(std::move(x), 4, keep).mean({2, 3}));
  }

  //! The first `count` blocks only (no classifier head): block count − 1's output, and each
  //! block's output in `keep` as forward() does.
  torch::Tensor blocks(torch::Tensor x, std::size_t count, std::array<torch::Tensor, 4>* keep = nullptr) {
    x = (x - 0.5) / 0.25;
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) x = torch::max_pool2d(x, 2);
      x = torch::relu(norms[i]->forward(convs[i]->forward(x)));
      if (keep) (*keep)[i] = x;
    }
    return x;
  }

  std::array<torch::nn::Conv2d, 4> convs{nullptr, nullptr, nullptr, nullptr};
  std::array<torch::nn::BatchNorm2d, 4> norms{nullptr, nullptr, nullptr, nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE_IMPL(demo_cnn, demo_cnn_impl);

//! The demo CNN seen as an actatlas::classifier (always in eval mode: batch norm uses its
//! running statistics, so one image's activations do not depend on its batch).
class demo_model : public classifier {
 public:
  demo_model(demo_cnn net, nlohmann::json metadata) : net_(std::move(net)), metadata_(std::move(metadata)) {
    net_->eval();
    info_.input_height = info_.input_width = metadata_.at("input_size").get<std::int64_t>();
    info_.class_names = metadata_.at("class_names").get<std::vector<std::string>>();
    for (const auto& l : metadata_.at("layers")) info_.layers.push_back({l.at("name"), l.at("channels")});
  }

  const model_info& info() const override { return info_; }

  layer_outputs forward(const torch::Tensor& x, const std::vector<std::string>& layers) override {
    check_input(x);
    std::array<bool, 4> wanted{};
    for (const auto& name : layers) wanted[layer_index(name)] = true;
    std::array<torch::Tensor, 4> kept;
    layer_outputs out;
    out["logits"] = net_->forward(x.to(torch::kFloat32), &kept);
    for (std::size_t i = 0; i < 4; ++i)
      if (wanted[i]) out[info_.layers[i].name] = kept[i];
    return out;
  }

  //! The blocks up to the deepest asked-for layer; the head is never run.
  layer_outputs features(const torch::Tensor& x, const std::vector<std::string>& layers) override {
    check_input(x);
    std::size_t count = 0;
    for (const auto& name : layers) count = std::max(count, layer_index(name) + 1);
    std::array<torch::Tensor, 4> kept;
    layer_outputs out;
    if (count == 0) return out;
    net_->blocks(x.to(torch::kFloat32), count, &kept);
    for (const auto& name : layers) out[name] = kept[layer_index(name)];
    return out;
  }

  void to(torch::Device device) override { net_->to(device); }
  torch::Device device() const override { return net_->fc->weight.device(); }

  //! Weights and batch-norm statistics (running means, variances, batch counts).
  std::vector<std::pair<std::string, torch::Tensor>> named_state() const override {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& p : net_->named_parameters()) out.emplace_back(p.key(), p.value());
    for (const auto& b : net_->named_buffers()) out.emplace_back(b.key(), b.value());
    return out;
  }

  //! The LibTorch module (for training, inversion with custom code, or saving).
  demo_cnn& network() { return net_; }
  //! Class names, layers, input size, held-out accuracy, seed, options, training time.
  const nlohmann::json& metadata() const { return metadata_; }

 private:
  static std::string shape_text(const torch::Tensor& x) {
    std::string s = "[";
    for (std::int64_t d = 0; d < x.dim(); ++d) {
      // Two appends, not `(d ? "," : "") + …`: GCC 12 warns (-Wstringop-overflow, a false
      // positive) on operator+(const char*, string&&) inlined here.
      if (d) s += ',';
      s += std::to_string(x.size(d));
    }
    return s + "]";
  }
  static void check_input(const torch::Tensor& x) {
    if (x.dim() != 4 || x.size(1) != 3)
      throw input_error("demo model input", "expected a [B,3,H,W] tensor, got " + shape_text(x));
  }
  std::size_t layer_index(const std::string& name) const {
    for (std::size_t i = 0; i < info_.layers.size(); ++i)
      if (info_.layers[i].name == name) return i;
    std::string known;
    for (const auto& l : info_.layers) known += (known.empty() ? "" : ", ") + l.name;
    throw input_error(name, "no such layer in the demo model (layers: " + known + ")");
  }

  demo_cnn net_;
  nlohmann::json metadata_;
  model_info info_;
};

namespace detail {
inline constexpr const char* demo_json_key = "actatlas_demo_json";
inline constexpr int demo_format_version = 1;

//! Images of the demo set as a [n,3,S,S] float tensor in [0,1], with labels: item k of
//! the stream starting at `first` is class (first + k) % C, index (first + k) / C, so
//! every batch is balanced over the classes.
inline std::pair<torch::Tensor, torch::Tensor> demo_batch(std::uint64_t seed, std::uint64_t first, std::int64_t n,
                                                          int size) {
  const auto C = static_cast<std::uint64_t>(demo::class_count());
  auto bytes = torch::empty({n, size, size, 3}, torch::kUInt8);
  auto labels = torch::empty({n}, torch::kInt64);
  auto* out = bytes.data_ptr<std::uint8_t>();
  auto* lab = labels.data_ptr<std::int64_t>();
  for (std::int64_t k = 0; k < n; ++k) {
    const std::uint64_t item = first + static_cast<std::uint64_t>(k);
    lab[k] = static_cast<std::int64_t>(item % C);
    demo::generate_into(out + k * size * size * 3, item % C, seed, item / C, size);
  }
  return {bytes.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0).contiguous(), labels};
}

//! The seeds of the training and the held-out streams: different, so no held-out image
//! was ever trained on.
inline std::uint64_t demo_train_seed(std::uint64_t seed) { return seed * 2 + 0; }
inline std::uint64_t demo_heldout_seed(std::uint64_t seed) { return seed * 2 + 1 + 0x5EEDull * 0x100000000ull; }

//! Sets LibTorch's thread count (and flushes denormals) for the training, and restores the
//! thread count when it ends, normally or not. Denormals appear in Adam's moment estimates
//! late in training and make each step several times slower on x86 CPUs.
struct torch_threads_guard {
  explicit torch_threads_guard(int threads) : previous(torch::get_num_threads()) {
    if (threads > 0) torch::set_num_threads(threads);
    at::globalContext().setFlushDenormal(true);
  }
  ~torch_threads_guard() {
    torch::set_num_threads(previous);
    at::globalContext().setFlushDenormal(false);
  }
  int previous;
};

//! CPU time used by this process so far, in seconds (user + system, all threads): with
//! the wall-clock time it tells how busy the machine was during a measurement.
inline double process_cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}
}  // namespace detail

//! Held-out accuracy of `model` on `per_class` images of every class drawn with `seed`:
//! overall, then per class.
inline std::pair<double, std::vector<double>> demo_accuracy(classifier& model, std::uint64_t seed, int per_class,
                                                            int size = demo::default_image_size,
                                                            const progress_fn& progress = {}) {
  torch::NoGradGuard no_grad;
  const auto C = static_cast<std::int64_t>(demo::class_count());
  const std::int64_t total = C * per_class, chunk = 256;
  std::vector<double> correct(static_cast<std::size_t>(C), 0.0);
  double all = 0;
  for (std::int64_t first = 0; first < total; first += chunk) {
    const std::int64_t n = std::min(chunk, total - first);
    auto [x, y] = detail::demo_batch(seed, static_cast<std::uint64_t>(first), n, size);
    const auto predicted = model.forward(x.to(model.device()), {}).at("logits").argmax(1).cpu();
    const auto hit = predicted.eq(y);
    for (std::int64_t k = 0; k < n; ++k)
      if (hit[k].item<bool>()) correct[static_cast<std::size_t>(y[k].item<std::int64_t>())] += 1, all += 1;
    report(progress, "evaluate", static_cast<std::size_t>(first + n), static_cast<std::size_t>(total));
  }
  for (auto& c : correct) c /= per_class;
  return {all / static_cast<double>(total), correct};
}

//! Trains a demo model from scratch on the CPU (stages "train demo" and "evaluate").
inline std::unique_ptr<demo_model> train_demo_model(const demo_model_options& o = {}, const progress_fn& progress = {}) {
  if (o.steps < 1 || o.batch_size < 1 || o.heldout_per_class < 1)
    throw input_error("demo model options", "steps, batch size and held-out count must be positive");
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = detail::process_cpu_seconds();
  detail::torch_threads_guard threads(o.threads);
  torch::manual_seed(o.seed);
  const auto C = static_cast<std::int64_t>(demo::class_count());
  demo_cnn net(C, o.widths);
  net->to(torch::kCPU);
  net->train();
  torch::optim::Adam optimiser(net->parameters(), torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));
  const std::uint64_t train_seed = detail::demo_train_seed(o.seed);
  const std::size_t warmup = static_cast<std::size_t>(std::max(1, o.steps / 20));
  for (int step = 0; step < o.steps; ++step) {
    // Linear warm-up, then cosine decay to zero: stable early, precise at the end.
    const double t = static_cast<double>(step) / o.steps;
    double lr = o.learning_rate * 0.5 * (1.0 + std::cos(3.141592653589793 * t));
    if (static_cast<std::size_t>(step) < warmup) lr *= static_cast<double>(step + 1) / static_cast<double>(warmup);
    for (auto& group : optimiser.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    auto [x, y] = detail::demo_batch(train_seed, static_cast<std::uint64_t>(step) * static_cast<std::uint64_t>(o.batch_size),
                                     o.batch_size, o.image_size);
    optimiser.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    optimiser.step();
    report(progress, "train demo", static_cast<std::size_t>(step + 1), static_cast<std::size_t>(o.steps));
  }
  net->eval();
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double train_cpu_seconds = detail::process_cpu_seconds() - cpu_started;

  nlohmann::json meta;
  meta["format"] = "actatlas-demo-cnn";
  meta["format_version"] = detail::demo_format_version;
  meta["generator_version"] = demo::generator_version;
  meta["class_names"] = demo::class_names();
  meta["input_size"] = o.image_size;
  meta["layers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < 4; ++i)
    meta["layers"].push_back({{"name", "conv" + std::to_string(i + 1)}, {"channels", o.widths[i]}});
  meta["seed"] = o.seed;
  meta["options"] = o.to_json();
  meta["train_seconds"] = train_seconds;
  meta["train_cpu_seconds"] = train_cpu_seconds;
  auto model = std::make_unique<demo_model>(net, meta);
  auto [accuracy, per_class] =
      demo_accuracy(*model, detail::demo_heldout_seed(o.seed), o.heldout_per_class, o.image_size, progress);
  meta["heldout_accuracy"] = accuracy;
  meta["per_class_accuracy"] = per_class;
  meta["heldout_images"] = o.heldout_per_class * C;
  return std::make_unique<demo_model>(net, meta);
}

//! Saves `model` (weights, batch-norm statistics and metadata) to `path`, atomically.
inline void save_demo_model(demo_model& model, const std::filesystem::path& path) {
  torch::serialize::OutputArchive archive;
  const torch::Device was = model.device();
  model.to(torch::kCPU);
  model.network()->save(archive);
  archive.write(detail::demo_json_key, c10::IValue(model.metadata().dump()));
  io::atomic_write(path, [&](std::ostream& out) { archive.save_to(out); });
  model.to(was);
}

namespace detail {
//! The metadata of a demo model archive, or nothing when `path` is not one.
inline std::optional<nlohmann::json> demo_metadata(torch::serialize::InputArchive& archive) {
  c10::IValue text;
  if (!archive.try_read(demo_json_key, text) || !text.isString()) return std::nullopt;
  auto meta = nlohmann::json::parse(text.toStringRef(), nullptr, false);
  if (meta.is_discarded() || meta.value("format", "") != "actatlas-demo-cnn") return std::nullopt;
  return meta;
}
}  // namespace detail

namespace detail {
//! A cheap first look: a LibTorch archive is a zip, stored uncompressed, and its pickled
//! attributes (our JSON string among them) sit near its end. Only a file that passes this
//! is opened as an archive, so asking about a large TorchScript model costs one small read.
inline bool may_be_demo_model_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4) || magic[0] != 'P' || magic[1] != 'K' || magic[2] != 3 || magic[3] != 4) return false;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff tail = std::min<std::streamoff>(size, 256 * 1024);
  std::string bytes(static_cast<std::size_t>(tail), '\0');
  in.seekg(size - tail);
  if (!in.read(bytes.data(), tail)) return false;
  return bytes.find("actatlas-demo-cnn") != std::string::npos;
}
}  // namespace detail

//! Whether `path` is a demo model file (a LibTorch archive carrying actatlas_demo_json).
//! Never throws: an unreadable or foreign file is simply not one. Cheap for other files
//! (TorchScript models included: they are not opened).
inline bool is_demo_model_file(const std::filesystem::path& path) {
  try {
    if (!detail::may_be_demo_model_file(path)) return false;
    torch::serialize::InputArchive archive;
    archive.load_from(path.string(), torch::kCPU);
    return detail::demo_metadata(archive).has_value();
  } catch (...) {
    return false;
  }
}

//! Loads a demo model saved by save_demo_model (on the CPU); input_error naming `path`
//! when it is missing, not a demo model, or of a newer format.
inline std::unique_ptr<demo_model> load_demo_model(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw input_error(path.string(), "no such file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string(), torch::kCPU);
  } catch (const std::exception&) {
    throw input_error(path.string(), "not a LibTorch archive (cannot read it as a demo model)");
  }
  auto meta = detail::demo_metadata(archive);
  if (!meta) throw input_error(path.string(), "not an actatlas demo model (no actatlas_demo_json)");
  if (meta->value("format_version", 0) > detail::demo_format_version)
    throw input_error(path.string(), "demo model format " + std::to_string(meta->value("format_version", 0)) +
                                         " is newer than this actatlas reads (" +
                                         std::to_string(detail::demo_format_version) + ")");
  try {
    std::array<std::int64_t, 4> widths{};
    for (std::size_t i = 0; i < 4; ++i) widths[i] = meta->at("layers").at(i).at("channels").get<std::int64_t>();
    demo_cnn net(static_cast<std::int64_t>(meta->at("class_names").size()), widths);
    net->load(archive);
    return std::make_unique<demo_model>(net, *meta);
  } catch (const input_error&) {
    throw;
  } catch (const std::exception& e) {
    throw input_error(path.string(), std::string("damaged demo model: ") + e.what());
  }
}

//! Where demo models are cached by default: $ACTATLAS_CACHE, else $XDG_CACHE_HOME/actatlas,
//! else ~/.cache/actatlas, else ./actatlas-cache.
inline std::filesystem::path default_demo_cache_dir() {
  if (const char* dir = std::getenv("ACTATLAS_CACHE"); dir && *dir) return dir;
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir) return std::filesystem::path(dir) / "actatlas";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "actatlas";
  return "actatlas-cache";
}

//! The file name a demo model trained with `o` is cached under.
inline std::string demo_model_file_name(const demo_model_options& o) {
  return "demo_cnn_seed" + std::to_string(o.seed) + ".pt";
}

//! Loads the demo model cached in `cache_dir` when it was trained with the same options
//! and the same image generator; otherwise (or with `force`) trains it and saves it there.
//! `trained`, when given, is set to whether it had to train.
inline std::unique_ptr<demo_model> load_or_train_demo_model(const std::filesystem::path& cache_dir,
                                                           const demo_model_options& o = {},
                                                           const progress_fn& progress = {}, bool force = false,
                                                           bool* trained = nullptr) {
  const auto path = cache_dir / demo_model_file_name(o);
  if (trained) *trained = false;
  if (!force && std::filesystem::exists(path) && is_demo_model_file(path)) {
    auto model = load_demo_model(path);
    const auto& meta = model->metadata();
    if (meta.value("generator_version", 0) == demo::generator_version && meta.value("options", nlohmann::json{}) == o.to_json())
      return model;
  }
  auto model = train_demo_model(o, progress);
  save_demo_model(*model, path);
  if (trained) *trained = true;
  return model;
}

}  // namespace actatlas
