/// @file torch/torchscript_model.hpp
/// Any TorchScript image classifier that follows the actatlas contract (docs/models.md):
///
/// - `forward(x)` takes float32 `[B,3,H,W]` RGB in [0,1] (the module normalises itself)
///   and returns `Dict[str, Tensor]` with `"logits"` `[B,C]` and every exposed layer
///   `[B,D,h,w]`, or, when the layer declares it, `[B,T,D]` tokens or `[B,h,w,D]`;
/// - the archive carries an extra file `actatlas.json`:
///   `{"input_size": [H, W], "class_names": [...], "layers": [{"name": ..., "channels": D}, ...]}`;
///   a transformer's layer adds `"layout": "tokens", "leading_tokens": 1, "patch_grid": [h, w]`
///   (or `"layout": "channels_last"`), and `"fixed_input_size": true` says the model takes
///   input_size only (docs/models.md, "Vision transformers").
///   A key the loader does not know is an error naming the closest known one (a misspelt
///   "classes" would otherwise leave the atlas labelled by class indices).
///
/// - optionally, a method `features(x, layers: List[str]) -> Dict[str, Tensor]` that returns
///   only the asked layers and runs the network no further than the deepest of them.
///   Feature inversion calls it at every step (classifier::features); a file without it
///   (exported before the method existed) works, at the cost of the whole network per step.
///
/// `tools/export_torchvision.py` writes such files from torchvision models. Loading runs
/// one probe forward pass on a blank image, so a file that breaks the contract is refused
/// at load time with a message naming the file, not halfway through a collection.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/known_keys.hpp"
#include "../error.hpp"
#include "classifier.hpp"
#include "detail/check_layers.hpp"

namespace actatlas {

//! The name of the metadata file inside a TorchScript archive.
inline constexpr const char* torchscript_metadata_name = "actatlas.json";

//! The keys actatlas.json may hold: those the loader reads (input_size, class_names,
//! layers) and those tools/export_torchvision.py writes for people (format, source, input).
inline constexpr std::array<std::string_view, 7> torchscript_metadata_keys = {
    "class_names", "fixed_input_size", "format", "input", "input_size", "layers", "source"};
//! The keys of one entry of "layers": name, channels, layout, leading_tokens and patch_grid
//! are read; map_size (the layer's h×w at input_size, written by the exporter) is for people.
inline constexpr std::array<std::string_view, 6> torchscript_layer_keys = {
    "channels", "layout", "leading_tokens", "map_size", "name", "patch_grid"};

namespace detail {

inline std::vector<std::string> json_keys(const nlohmann::json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

//! The layout keys of one "layers" entry (layout, leading_tokens, patch_grid) into `layer`.
inline layer_info parse_layer_layout(const nlohmann::json& l, layer_info layer, const std::string& where) {
  const std::string context = "actatlas.json: layer '" + layer.name + "'";
  const std::string layout = l.value("layout", std::string("channels_first"));
  if (layout == "tokens") layer.layout = layer_layout::tokens;
  else if (layout == "channels_last") layer.layout = layer_layout::channels_last;
  else if (layout != "channels_first")
    throw input_error(where, context + ": unknown layout \"" + layout + "\" (known: channels_first, tokens, channels_last)");
  if (l.contains("patch_grid")) {
    const auto& g = l.at("patch_grid");
    layer.grid_height = g.is_number_integer() ? g.get<std::int64_t>() : g.at(0).get<std::int64_t>();
    layer.grid_width = g.is_number_integer() ? g.get<std::int64_t>() : g.at(1).get<std::int64_t>();
    if (layer.grid_height <= 0 || layer.grid_width <= 0) throw input_error(where, context + ": patch_grid must be positive");
  }
  layer.leading_tokens = l.value("leading_tokens", std::int64_t{0});
  if (layer.leading_tokens < 0) throw input_error(where, context + ": leading_tokens must be >= 0");
  if (layer.layout == layer_layout::tokens && layer.grid_height == 0)
    throw input_error(where, context + ": a \"tokens\" layer needs \"patch_grid\": [h, w]");
  if (layer.layout == layer_layout::channels_first && (l.contains("patch_grid") || l.contains("leading_tokens")))
    throw input_error(where, context + ": patch_grid and leading_tokens need \"layout\": \"tokens\" or \"channels_last\"");
  if (layer.layout == layer_layout::channels_last && l.contains("leading_tokens"))
    throw input_error(where, context + ": a channels_last map has no leading tokens");
  return layer;
}

//! Parses actatlas.json into model_info. Class names and channel counts may be absent:
//! the probe pass fills them in.
inline model_info parse_torchscript_metadata(const std::string& text, const std::string& where) {
  model_info info;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw input_error(where, std::string("actatlas.json is not valid JSON: ") + e.what());
  }
  try {
    if (!j.is_object()) throw input_error(where, "actatlas.json is not a JSON object");
    check_known_keys(json_keys(j), torchscript_metadata_keys, where, "actatlas.json");
    if (j.contains("input_size")) {
      const auto& s = j.at("input_size");
      if (s.is_number_integer()) {
        info.input_height = info.input_width = s.get<std::int64_t>();
      } else {
        info.input_height = s.at(0).get<std::int64_t>();
        info.input_width = s.at(1).get<std::int64_t>();
      }
      if (info.input_height <= 0 || info.input_width <= 0) throw input_error(where, "input_size must be positive");
    }
    if (j.contains("fixed_input_size")) info.fixed_input_size = j.at("fixed_input_size").get<bool>();
    if (j.contains("class_names")) info.class_names = j.at("class_names").get<std::vector<std::string>>();
    if (!j.contains("layers")) throw input_error(where, "actatlas.json has no \"layers\"");
    for (const auto& l : j.at("layers")) {
      if (l.is_string()) {
        info.layers.push_back({l.get<std::string>(), 0});
      } else {
        if (l.is_object()) {
          const bool named = l.contains("name") && l["name"].is_string();
          check_known_keys(json_keys(l), torchscript_layer_keys, where,
                           named ? "actatlas.json: layer '" + l["name"].get<std::string>() + "'"
                                 : "actatlas.json: layers[" + std::to_string(info.layers.size()) + "]");
        }
        info.layers.push_back(parse_layer_layout(l, {l.at("name").get<std::string>(), l.value("channels", std::int64_t{0})}, where));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw input_error(where, std::string("actatlas.json: ") + e.what());
  }
  return info;
}

}  // namespace detail

//! A classifier backed by a TorchScript module (see the file comment for the contract).
class torchscript_model final : public classifier {
 public:
  //! Loads `path` onto `device`. A missing or unreadable file, a file that is not a
  //! TorchScript archive, missing or wrong metadata, or a forward pass that does not
  //! return the promised dictionary is an input_error naming the file.
  explicit torchscript_model(const std::filesystem::path& path, ::torch::Device device = ::torch::kCPU)
      : where_(path.string()), device_(device) {
    if (!std::filesystem::is_regular_file(path)) throw input_error(where_, "no such model file");
    ::torch::jit::ExtraFilesMap extra{{torchscript_metadata_name, ""}};
    try {
      module_ = ::torch::jit::load(path.string(), device, extra);
    } catch (const c10::Error& e) {
      throw input_error(where_, "not a readable TorchScript archive (" + first_line(e.what_without_backtrace()) + ")");
    }
    if (extra[torchscript_metadata_name].empty())
      throw input_error(where_, std::string("the archive has no ") + torchscript_metadata_name +
                                    " (export it with tools/export_torchvision.py)");
    info_ = detail::parse_torchscript_metadata(extra[torchscript_metadata_name], where_);
    module_.eval();
    // Attribution differentiates with respect to activations, never weights: without
    // weight gradients the backward pass does less work and keeps less memory.
    for (auto p : module_.parameters()) p.set_requires_grad(false);
    probe();
  }

  const model_info& info() const override { return info_; }

  layer_outputs forward(const ::torch::Tensor& x, const std::vector<std::string>& layers) override {
    detail::check_layers_exist(info_, layers, where_);
    auto all = run(x);
    layer_outputs out;
    out.emplace("logits", all.at("logits"));
    for (const auto& name : layers) out.emplace(name, all.at(name));
    return out;
  }

  //! The archive's `features` method when it has one (it stops at the deepest asked layer);
  //! else forward() without the logits.
  layer_outputs features(const ::torch::Tensor& x, const std::vector<std::string>& layers) override {
    if (!has_features_) return classifier::features(x, layers);
    detail::check_layers_exist(info_, layers, where_);
    return run_features(x, layers);
  }

  //! Whether the archive has the early-stopping `features` method (see the file comment).
  bool stops_at_layer() const { return has_features_; }

  void to(::torch::Device device) override {
    module_.to(device);
    device_ = device;
  }
  ::torch::Device device() const override { return device_; }

  //! Every tensor attribute of the module and its submodules: parameters, buffers and
  //! tensors kept as plain attributes (all of which forward may read).
  std::vector<std::pair<std::string, ::torch::Tensor>> named_state() const override {
    std::vector<std::pair<std::string, ::torch::Tensor>> out;
    for (const auto& a : module_.named_attributes(/*recurse=*/true))
      if (a.value.isTensor()) out.emplace_back(a.name, a.value.toTensor());
    return out;
  }

  //! The underlying module, for users who want more than the classifier interface.
  ::torch::jit::Module& module() { return module_; }

 private:
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  //! The interpreter's message is a TorchScript traceback that ends with the Python-style
  //! error ("RuntimeError: Given input size: ..."), which may wrap: that ending, on one line.
  static std::string interpreter_error(const std::string& what) {
    std::size_t line = what.size();
    while (line > 0) {
      const std::size_t start = what.rfind('\n', line - 1);
      const std::size_t from = start == std::string::npos ? 0 : start + 1;
      const std::string text = what.substr(from, line - from);
      const std::size_t colon = text.find("Error: ");
      if (colon != std::string::npos && text.find(' ') > colon) {
        std::string tail = what.substr(from);
        for (auto& c : tail)
          if (c == '\n') c = ' ';
        return tail;
      }
      if (start == std::string::npos) break;
      line = start;
    }
    return first_line(what);
  }

  //! One forward pass; checks that the result is a dictionary of tensors with "logits".
  layer_outputs run(const ::torch::Tensor& x) {
    c10::IValue result;
    try {
      result = module_.forward({x});
    } catch (const c10::Error& e) {
      throw input_error(where_, "forward failed: " + first_line(e.what_without_backtrace()));
    } catch (const std::exception& e) {  // the interpreter's own errors (JITException) are not c10::Errors
      throw input_error(where_, "forward failed: " + interpreter_error(e.what()));
    }
    auto out = tensor_dict(result, "forward");
    if (!out.count("logits")) throw input_error(where_, "forward's dictionary has no \"logits\"");
    return out;
  }

  //! One call of the archive's `features`; checks that every asked layer came back.
  layer_outputs run_features(const ::torch::Tensor& x, const std::vector<std::string>& layers) {
    c10::List<std::string> names;
    for (const auto& l : layers) names.push_back(l);
    c10::IValue result;
    try {
      result = module_.get_method("features")({x, names});
    } catch (const c10::Error& e) {
      throw input_error(where_, "features failed: " + first_line(e.what_without_backtrace()));
    } catch (const std::exception& e) {  // the interpreter's own errors (JITException) are not c10::Errors
      throw input_error(where_, "features failed: " + interpreter_error(e.what()));
    }
    auto all = tensor_dict(result, "features");
    layer_outputs out;
    for (const auto& l : layers) {
      auto it = all.find(l);
      if (it == all.end()) throw input_error(where_, "features did not return layer '" + l + "'");
      out.emplace(l, it->second);
    }
    return out;
  }

  layer_outputs tensor_dict(const c10::IValue& result, const char* method) const {
    if (!result.isGenericDict())
      throw input_error(where_, std::string(method) + " must return Dict[str, Tensor] (see docs/models.md), got " +
                                    result.tagKind());
    layer_outputs out;
    for (const auto& entry : result.toGenericDict()) {
      if (!entry.key().isString() || !entry.value().isTensor())
        throw input_error(where_, std::string(method) + " must return Dict[str, Tensor]");
      out.emplace(entry.key().toStringRef(), entry.value().toTensor());
    }
    return out;
  }

  //! A blank image through the network: checks the contract once and fills in what the
  //! metadata left out (class count, channel counts).
  void probe() {
    ::torch::NoGradGuard no_grad;
    const auto x = ::torch::full({1, 3, info_.input_height, info_.input_width}, 0.5f,
                                 ::torch::TensorOptions().device(device_));
    const auto out = run(x);
    const auto& logits = out.at("logits");
    if (logits.dim() != 2 || logits.size(0) != 1)
      throw input_error(where_, "\"logits\" must be [B,C], got " + shape_text(logits));
    const auto classes = logits.size(1);
    if (info_.class_names.empty())
      for (std::int64_t c = 0; c < classes; ++c) info_.class_names.push_back(std::to_string(c));
    if (static_cast<std::int64_t>(info_.class_names.size()) != classes)
      throw input_error(where_, "actatlas.json names " + std::to_string(info_.class_names.size()) +
                                    " classes but the model has " + std::to_string(classes) + " logits");
    for (auto& layer : info_.layers) {
      auto it = out.find(layer.name);
      if (it == out.end())
        throw input_error(where_, "actatlas.json lists layer '" + layer.name + "' but forward does not return it");
      const auto& t = it->second;
      if (layer.layout == layer_layout::channels_first && t.dim() == 3)
        throw input_error(where_, "layer '" + layer.name + "' is " + shape_text(t) +
                                      ", a token sequence: declare \"layout\": \"tokens\", \"leading_tokens\" and "
                                      "\"patch_grid\" for it in actatlas.json (docs/models.md)");
      ::torch::Tensor map;
      try {
        map = layer_map(layer, t);
      } catch (const std::invalid_argument& e) {
        throw input_error(where_, std::string(e.what()) + " (actatlas.json's declaration and the probe pass disagree)");
      }
      if (layer.channels != 0 && layer.channels != map.size(1))
        throw input_error(where_, "layer '" + layer.name + "' has " + std::to_string(map.size(1)) +
                                      " channels, actatlas.json says " + std::to_string(layer.channels));
      layer.channels = map.size(1);
    }
    // The early-stopping method must agree with forward, layer by layer: an icon optimised
    // through a `features` that computes something else would be an icon of another model.
    has_features_ = module_.find_method("features").has_value();
    if (has_features_) {
      for (const auto& layer : info_.layers) {
        const auto early = run_features(x, {layer.name}).at(layer.name);
        const auto& full = out.at(layer.name);
        if (early.sizes() != full.sizes() || !::torch::allclose(early, full, 1e-4, 1e-5))
          throw input_error(where_, "features(x, ['" + layer.name + "']) differs from forward's '" + layer.name +
                                        "' (re-export the file with tools/export_torchvision.py)");
      }
    }
  }

  static std::string shape_text(const ::torch::Tensor& t) {
    std::string s = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) {
      if (i) s += ',';
      s += std::to_string(t.size(i));
    }
    s += ']';
    return s;
  }

  std::string where_;
  ::torch::Device device_;
  ::torch::jit::Module module_;
  model_info info_;
  bool has_features_ = false;
};

}  // namespace actatlas
