/// @file stage_options.hpp
/// The settings of the pipeline's stages that belong to no policy: how to collect (which
/// layer, how many samples, batch sizes), how to render icons (size, steps, attempts,
/// seed) and how to draw the pictures. A pipeline holds one of each
/// (`pipeline::collection()`, `icons()`, `pictures()`); their defaults are the article's
/// reference settings, and the command line's defaults are these same values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "render/canvas.hpp"

namespace actatlas {

//! How to collect an activation set. The sampler (which positions) is a policy.
struct collect_options {
  std::string layer;                //!< the layer to sample (required)
  std::uint64_t samples = 0;        //!< stop after this many samples; 0 = one pass over the images
  bool repeat_images = false;       //!< visit the images again (with new positions) until `samples` are reached
  std::size_t batch = 32;           //!< images per forward pass
  std::size_t shard_batches = 16;   //!< batches per shard: the work a kill can lose
  bool attribution = true;          //!< also compute attributions to every class
  unsigned decode_threads = 0;      //!< image decoding threads (0 = half the hardware threads, 1..8)
  bool keep_shards = false;         //!< keep shards/ after the merge (else deleted once merged)
  std::string model_name;           //!< recorded, and checked on resume (e.g. the model file's name)
};

//! How each cell's icon is made by feature inversion (the objective is a policy).
struct icon_options {
  std::int64_t size = 80;          //!< icon side in pixels
  std::int64_t steps = 1024;       //!< Adam steps per attempt (the article's reference)
  std::int64_t attempts = 4;       //!< independent restarts; the best per icon is kept
  std::int64_t prune_after = 0;    //!< > 0: all attempts run this many steps, only the best goes on (render_options)
  double learning_rate = 0.05;     //!< Adam's (lucid's)
  std::uint64_t seed = 0;          //!< every random draw of the icons derives from it
  std::size_t batch = 32;          //!< icons optimised together
  bool whiten = true;              //!< whiten directions by the activations' second moment (off for early layers)

  //! The article's reference, the defaults: 4 attempts of 1,024 steps.
  static icon_options article() { return {}; }
  //! A draft: one attempt of 256 steps, 16 times fewer steps than the article. Its icons show
  //! the same motifs; the final objective is about 0.83 of the article's (docs/inversion.md,
  //! "Steps and attempts", measured on the demo CNN). What `actatlas demo` uses.
  static icon_options draft() {
    icon_options o;
    o.steps = 256;
    o.attempts = 1;
    return o;
  }
};

//! How the atlas pictures, tiles, dataset patches and viewer data are drawn.
struct picture_options {
  render::canvas_options canvas{};
  int tile_px = 256;                               //!< side of the viewer's tiles
  int patch_px = 48;                               //!< side of each dataset patch in a cell's strip
  int patches_per_cell = 8;
  std::size_t full_attribution_max_classes = 100;  //!< atlas.js keeps all C attributions per cell up to this C
  std::string title;                               //!< shown by the viewer (default: model · layer)
};

}  // namespace actatlas
