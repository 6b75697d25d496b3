// faceauth: the command-line tool (verify, embed, compare, detect, bench, eval, analyze, admin).
#include <exception>
#include <iostream>
#include <string>

#include <opencv2/core.hpp>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage = R"(usage: faceauth COMMAND [options]
  verify IMAGE_A IMAGE_B           faces, landmarks, similarity and score as JSON
  embed IMAGE... | --list FILE     one JSON line per image: box, 68 landmarks, descriptor
  compare --pairs FILE --images DIR [--threads N]
                                   one JSON line per pair of a TSV with image_a, image_b columns
  detect IMAGE... | --list FILE [--threads N]
                                   one JSON line per image: face count, boxes, milliseconds
  bench IMAGE [--repeat N] [--warmup N] [--attributes]
                                   per-stage median and p90 milliseconds, one thread; with
                                   --attributes also the three attribute heads ("attributes")
  eval --pairs FILE --images DIR [--train FILE] [--folds N] [--roc OUT.png] [--threads N]
       [--impostors N] [--seed S]
                                   accuracy, ROC AUC, EER and TAR at FAR 1e-2..1e-4 as JSON, on
                                   a TSV with same (1/0), image_a, image_b columns; the
                                   threshold from --train or N folds; ROC curve as a PNG
  eval-liveness --labels FILE --images DIR [--subjects A,B,..] [--threshold T] [--head FILE]
                [--roc OUT.png] [--threads N]
                                   APCER, BPCER, ACER at the threshold (default: the head's),
                                   ROC AUC, a per-subject breakdown and the checks' median ms, on
                                   a TSV with label (live|attack), image, subject columns
  liveness-features --labels FILE --images DIR [--subjects A,B,..] [--threads N]
                                   the liveness features of each image as TSV (for
                                   tools/train/train_liveness.py)
  analyze IMAGE... | --list FILE [--threads N] [--lower-face-covered]
                                   one JSON line per image: face count, the largest face's box
                                   and its attribute scores (occluded_score, face_cover_score,
                                   head_cover_score; 0-100, higher = more of the good thing)
  features IMAGE... | --list FILE [--threads N]
                                   one JSON line per image: landmarks and the attribute heads'
                                   input features (tools/train/train_attributes.py reads them)
  eval-attributes --labels FILE --attribute occluded|face_cover|head_cover [--images DIR]
       [--lower-face-covered] [--threads N]
                                   accuracy, balanced accuracy, ROC AUC and the confusion matrix
                                   at score 50 on a TSV with image, label (1 = the good thing)
  admin GROUP ACTION ... [--url URL] [--token TOKEN | --demo-json FILE]
                                   the management API of a running faceauthd: kyc, faceauth,
                                   policy and submission commands (faceauth admin --help)
engine options: --models DIR (converted models; default $FACEAUTH_MODELS or the set-up cache)
                --detector NAME  --embedder NAME (model manifest names)
                --align dlib68|dlib5|arcface5  --flip on|off (embedding pipeline;
                default: each model's own alignment)
                --subject largest|centre (the face judged; centre for LFW, whose photos
                are cropped around the named person)
                --min-score S (detector score threshold, default from the model manifest)
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 64;
  }
  // One OpenCV thread per engine: parallel work uses one engine per core instead.
  cv::setNumThreads(1);
  std::string command = argv[1];
  try {
    faceauth::Args args = faceauth::parse_args(argc, argv, 2);
    if (command == "verify") return faceauth::cmd_verify(args);
    if (command == "embed") return faceauth::cmd_embed(args);
    if (command == "compare") return faceauth::cmd_compare(args);
    if (command == "detect") return faceauth::cmd_detect(args);
    if (command == "bench") return faceauth::cmd_bench(args);
    if (command == "eval") return faceauth::cmd_eval(args);
    if (command == "eval-liveness") return faceauth::cmd_eval_liveness(args);
    if (command == "liveness-features") return faceauth::cmd_liveness_features(args);
    if (command == "admin") return faceauth::cmd_admin(args);
    if (command == "analyze") return faceauth::cmd_analyze(args);
    if (command == "features") return faceauth::cmd_features(args);
    if (command == "eval-attributes") return faceauth::cmd_eval_attributes(args);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 64;
  } catch (const std::exception& e) {
    std::cerr << "faceauth: " << e.what() << "\n";
    return 1;
  }
  std::cerr << kUsage;
  return 64;
}
