#pragma once
// The model package: an MLflow `MLmodel` manifest (YAML), parsed and
// validated. A model is a folder holding `MLmodel` plus the files it names
// (the model file of each flavor, the environment files, the input example).
//
// What ParseMlModel checks:
//  - the text is YAML and its top level is a mapping;
//  - `flavors` is present and a non-empty mapping of mappings;
//  - the known fields have the right shape (strings where MLflow writes
//    strings; `model_size_bytes` a non-negative integer; `metadata` and
//    `saved_input_example_info` mappings);
//  - `signature` parses (model/signature.h);
//  - every file name it reads from a known field (flavor data files,
//    environment files, input example paths) is a relative path inside the
//    model folder (no "..", not absolute).
// Unknown top-level fields and unknown flavors are accepted (MLflow adds
// fields over time); each flavor's whole configuration is kept as JSON.
//
// LoadModelPackage(folder) reads <folder>/MLmodel, parses it, checks that
// the files it names exist, notes requirements.txt when present, and fills
// model_size_bytes, when the manifest lacks it, with the sum of the sizes of
// all regular files in the folder (symlinks are not followed).
//
// Errors: kInvalidArgument naming the file and the field, with the line and
// column when known:
//   "MLmodel: field 'flavors' is missing"
//   "MLmodel line 4, column 3: field 'flavors.xgboost.data' must be a string"
//   "MLmodel line 2, column 1: not valid YAML: ..."
// LoadModelPackage: kNotFound when <folder>/MLmodel does not exist,
// kInvalidArgument when a named file is missing, kInternal for I/O errors.
// yaml-cpp and nlohmann exceptions never escape.
//
// Thread safety: pure functions (LoadModelPackage only reads the folder).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "model/signature.h"

namespace cairn::model {

// MLmodel files larger than this are refused (real ones are a few KiB; large
// signatures reach some hundred KiB).
inline constexpr size_t kMaxMlModelBytes = 8 << 20;

// flavors.python_function
struct PythonFunctionFlavor {
  std::string loader_module;   // "mlflow.sklearn", "mlflow.pyfunc.model", ...
  std::string python_version;  // "3.11.2"
  std::string data;            // "data" (file or folder), may be empty
  std::string model_path;      // "model_path" (sklearn), may be empty
  std::string conda_env;       // env.conda (or the old `env: conda.yaml` form)
  std::string virtualenv;      // env.virtualenv ("python_env.yaml")
};

// flavors.xgboost
struct XgboostFlavor {
  std::string data;          // the model file: "model.ubj", "model.xgb", "model.json"
  std::string model_format;  // "ubj", "xgb", "json"; empty when absent (old MLflow)
  std::string xgb_version;
  std::string model_class;  // "xgboost.sklearn.XGBClassifier", "xgboost.core.Booster"
};

// flavors.sklearn
struct SklearnFlavor {
  std::string pickled_model;         // "model.pkl", "model.skops"
  std::string serialization_format;  // "cloudpickle", "pickle", "skops"
  std::string sklearn_version;
};

// saved_input_example_info
struct InputExample {
  std::string type;                // "dataframe", "ndarray", "json_object", ...
  std::string artifact_path;       // "input_example.json"
  std::string serving_input_path;  // "serving_input_example.json" (MLflow >= 2.16); may be empty
  std::string pandas_orient;       // "split" for data frames; may be empty
  std::string info_json;           // the whole section as a JSON object
};

struct ModelManifest {
  std::string artifact_path;  // as written: relative (2.x) or absolute (3.x)
  std::string run_id;
  std::string model_uuid;
  std::string model_id;          // MLflow 3 logged model id ("m-..."); empty in 2.x
  std::string utc_time_created;  // "2024-05-01 10:11:12.123456"
  std::string mlflow_version;

  // Every flavor: name -> its configuration as a JSON object text.
  std::map<std::string, std::string> flavors;
  std::optional<PythonFunctionFlavor> python_function;
  std::optional<XgboostFlavor> xgboost;
  std::optional<SklearnFlavor> sklearn;

  std::optional<Signature> signature;
  std::optional<InputExample> input_example;
  std::optional<int64_t> model_size_bytes;
  // Environment files, relative to the model folder, in this order: conda
  // env, virtualenv (python_env.yaml), then "requirements.txt" (added by
  // LoadModelPackage when the file exists; MLflow writes it beside MLmodel
  // without naming it).
  std::vector<std::string> requirements_files;
  std::string metadata_json;  // `metadata` as a JSON object text; empty when absent

  bool HasFlavor(std::string_view name) const { return flavors.contains(std::string(name)); }
};

// Parses MLmodel text. `file_name` is how errors name the file.
Result<ModelManifest> ParseMlModel(std::string_view yaml_text,
                                   std::string_view file_name = "MLmodel");

// Reads and validates the model folder `folder` (a local path). `display_name`
// is how errors name the MLmodel file (default: "MLmodel"; callers may pass
// the artifact path, e.g. "_registry/fraud/3/MLmodel", rather than leak a
// server path).
Result<ModelManifest> LoadModelPackage(const std::string& folder,
                                       std::string_view display_name = "MLmodel");

}  // namespace cairn::model
