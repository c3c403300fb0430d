// The label sets of one eSIM's series, escaped and joined once when its state changes, so that a
// scrape of a large fleet appends whole runs of bytes instead of escaping every label again.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace esim {

struct EsimRecord;

// One buffer with the parts back to back: at 50,000 eSIMs seven strings per record cost ~12 MB
// more (their fixed size and an allocation each).
class RenderedLabels {
 public:
  // [account="…",]iccid="…",name="…"[,config labels sorted by name]: every per-eSIM series
  // starts with these
  std::string_view identity() const { return Part(kIdentity); }
  std::string_view info() const {
    return Part(kInfo);
  }  // ,esim_status=…,smdp_status=…,profile=…,esim_id=…
  // ,operator=…,mcc=…,mnc=…,country=…,country_iso2=…,connection_type=…; empty before a connection
  std::string_view network() const { return Part(kNetwork); }
  std::string_view device_model() const { return Part(kDeviceModel); }  // ,model=…
  std::string_view device_imei() const { return Part(kDeviceImei); }    // ,imei=… (when opted in)
  std::string_view subscriber() const { return Part(kSubscriber); }  // ,eid=…,imsi=… (opted in)
  // ,package_code=…,package_name=…,countries=…; empty without one
  std::string_view package() const { return Part(kPackage); }
  bool operator==(const RenderedLabels&) const = default;

 private:
  enum PartIndex { kIdentity, kInfo, kNetwork, kDeviceModel, kDeviceImei, kSubscriber, kPackage };
  static constexpr size_t kParts = kPackage + 1;
  friend RenderedLabels RenderLabels(const EsimRecord& record);

  std::string_view Part(PartIndex part) const {
    const uint32_t begin = part == kIdentity ? 0 : ends_[part - 1];
    return std::string_view(text_).substr(begin, ends_[part] - begin);
  }
  void EndPart(PartIndex part) { ends_[part] = static_cast<uint32_t>(text_.size()); }

  std::string text_;                     // the parts in PartIndex order
  std::array<uint32_t, kParts> ends_{};  // where each part ends in text_
};

// Renders from the record's config, learned ids and merged status.
RenderedLabels RenderLabels(const EsimRecord& record);

}  // namespace esim
