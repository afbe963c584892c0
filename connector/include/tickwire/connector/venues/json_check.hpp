// JSON validity for the venue parsers. A parser validates in the pass that
// reads the fields: simdjson on-demand validates what is read (get_string,
// get_uint64, ...) but only skips what is not, so every value the parser does
// not read goes through check_value() in its field loop, and
// finish_document() then requires the end of the input. On the error path,
// invalid_json() re-parses the text with check_document(), the whole-document
// walk, to name what is wrong with the JSON itself. Bybit and Coinbase work
// this way; OKX, Kraken and Binance still run check_document() before their
// field pass. Nothing here allocates. Costs: bench/feed_bench.cpp
// (BM_*Validate is check_document beside the simdjson floor).
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string_view>
#include <utility>

namespace tickwire::connector::venues {

// kMaxJsonDepth: nesting deeper than this is rejected (no venue nests past 4).
inline constexpr int kMaxJsonDepth = 16;

// check_value: SUCCESS if `v` and everything inside it is valid JSON, else
// the first error met (DEPTH_ERROR past kMaxJsonDepth).
inline simdjson::error_code check_value(simdjson::ondemand::value v, int depth) {
  namespace od = simdjson::ondemand;
  if (depth > kMaxJsonDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  switch (type) {
    case od::json_type::object: {
      od::object o;
      if (auto err = v.get_object().get(o)) return err;
      for (auto field : o) {
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return err;
        od::value inner;
        if (auto err = field.value().get(inner)) return err;
        if (auto err = check_value(inner, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto err = v.get_array().get(a)) return err;
      for (auto element : a) {
        od::value inner;
        if (auto err = element.get(inner)) return err;
        if (auto err = check_value(inner, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = v.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// check_value: the same for a field's value as the loop hands it out.
inline simdjson::error_code check_value(simdjson::simdjson_result<simdjson::ondemand::value> v, int depth) {
  simdjson::ondemand::value inner;
  if (auto err = std::move(v).get(inner)) return err;
  return check_value(inner, depth);
}

// read_or_check: reads `v` into `out` if it holds a T (`read` true), else
// validates it whole with check_value (`read` false: a type the caller may
// refuse later, or not at all). An error means invalid JSON.
template <typename T>
simdjson::error_code read_or_check(simdjson::ondemand::value v, T& out, int depth, bool& read) {
  read = v.get(out) == simdjson::SUCCESS;
  return read ? simdjson::SUCCESS : check_value(v, depth);
}

// finish_document: once the root object or array has been read to its end,
// SUCCESS if nothing but whitespace follows it, else TRAILING_CONTENT.
inline simdjson::error_code finish_document(simdjson::ondemand::document& doc) {
  const char* trailing = nullptr;
  // current_location() fails with OUT_OF_BOUNDS exactly when the input is used up.
  return doc.current_location().get(trailing) == simdjson::SUCCESS ? simdjson::TRAILING_CONTENT : simdjson::SUCCESS;
}

// unclosed: whether `text` opens more objects and arrays than it closes
// (strings skipped); only run on the error path, to name the problem.
inline bool unclosed(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
  }
  return depth > 0 || in_string;
}

// check_document: nullptr if `doc` (parsed from `text`) is one valid JSON
// object or array with nothing but whitespace after it, else what is wrong.
// Leaves the document rewound for the real parse.
inline const char* check_document(simdjson::ondemand::document& doc, std::string_view text) {
  simdjson::ondemand::value root;
  auto err = doc.get_value().get(root);
  if (err == simdjson::SCALAR_DOCUMENT_AS_VALUE) {
    doc.rewind();
    return nullptr;  // not an object: the parser says so in its own words
  }
  if (!err) err = check_value(root, 1);
  if (err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT || (err && unclosed(text))) {
    return "message: truncated JSON (unclosed object or array)";
  }
  if (err == simdjson::DEPTH_ERROR) return "message: JSON nested too deeply";
  if (err) return "message: invalid JSON";
  if (finish_document(doc)) return "message: trailing content after the JSON document";
  doc.rewind();
  return nullptr;
}

// invalid_json: for a parser's error path: re-parses `text` (SIMDJSON_PADDING
// readable bytes after it) and returns check_document's reason if it is not
// one valid JSON document, else nullptr (the parser's own reason stands, and
// so does its reason when the text cannot be iterated at all). String views
// into `parser`'s buffers from the failed parse are invalid afterwards.
inline const char* invalid_json(simdjson::ondemand::parser& parser, std::string_view text) {
  simdjson::ondemand::document doc;
  if (parser.iterate(simdjson::padded_string_view(text.data(), text.size(), text.size() + simdjson::SIMDJSON_PADDING))
          .get(doc)) {
    return nullptr;
  }
  return check_document(doc, text);
}

// open_message: iterates the frame `data` (`size` bytes, SIMDJSON_PADDING
// readable bytes after them) into `doc` and opens its root object into
// `root`; with `check_whole` check_document() runs first (the parsers that
// validate in a separate pass). nullptr, or why the frame is not a JSON
// object, in the words every venue parser uses ("message: ...").
inline const char* open_message(simdjson::ondemand::parser& parser, const char* data, std::size_t size,
                                simdjson::ondemand::document& doc, simdjson::ondemand::object& root,
                                bool check_whole) {
  if (parser.iterate(simdjson::padded_string_view(data, size, size + simdjson::SIMDJSON_PADDING)).get(doc)) {
    return "message: not a JSON document";
  }
  if (check_whole) {
    if (const char* invalid = check_document(doc, {data, size})) return invalid;
  }
  if (auto err = doc.get_object().get(root)) {
    return err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT ? "message: truncated JSON (unclosed object or array)"
                                                       : "message: expected a JSON object";
  }
  return nullptr;
}

// read_root: the single-pass parsers' root loop: each field of `root` once,
// to `read(key, value)` (which validates what it does not read and returns
// false, its reason already recorded, to stop), then the end of the input
// required. nullptr when every field was read and nothing follows; "" when
// `read` stopped; else the reason the JSON is malformed.
template <typename Read>
const char* read_root(simdjson::ondemand::document& doc, simdjson::ondemand::object& root, Read&& read) {
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return "message: malformed key";
    simdjson::ondemand::value value;
    if (field.value().get(value)) return "message: invalid JSON";
    if (!read(key, value)) return "";
  }
  if (finish_document(doc)) return "message: trailing content after the JSON document";
  return nullptr;
}

}  // namespace tickwire::connector::venues
