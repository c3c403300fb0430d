// The label sets of one eSIM's series, escaped and joined once when its state changes, so that a
// scrape of a large fleet appends whole runs of bytes instead of escaping every label again.
#pragma once

#include <string>

namespace esim {

struct EsimRecord;

struct RenderedLabels {
  // [account="…",]iccid="…",name="…"[,config labels sorted by name]: every per-eSIM series
  // starts with these
  std::string identity;
  std::string info;  // ,esim_status=…,smdp_status=…,profile=…,esim_id=…
  std::string network;  // ,operator=…,mcc=…,mnc=…,country=…,country_iso2=…,connection_type=…
  std::string device_model;  // ,model=…
  std::string device_imei;   // ,imei=…  (exported only when the config opts in)
  std::string subscriber;    // ,eid=…,imsi=…  (exported only when the config opts in)
  std::string package;       // ,package_code=…,package_name=…,countries=…; empty without one
  bool operator==(const RenderedLabels&) const = default;
};

// Renders from the record's config, learned ids and merged status.
RenderedLabels RenderLabels(const EsimRecord& record);

}  // namespace esim
