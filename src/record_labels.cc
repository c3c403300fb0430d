#include "record_labels.h"

#include <initializer_list>
#include <string_view>

#include "exposition.h"
#include "state_store.h"

namespace esim {
namespace {

std::string_view Text(const PooledText& value) {
  return value ? std::string_view(*value) : std::string_view();
}

// Appends ,name="value" for each pair (the leading comma joins it to what comes before).
void AppendPairs(std::string& out, std::initializer_list<Label> labels) {
  for (const auto& [name, value] : labels) {
    out += ',';
    out += name;
    out += "=\"";
    AppendEscapedLabelValue(out, value);
    out += '"';
  }
}

}  // namespace

RenderedLabels RenderLabels(const EsimRecord& record) {
  RenderedLabels labels;
  std::string& text = labels.text_;
  // The account first: only named accounts have one, so the unnamed account's text is as before.
  if (!record.config.account.empty()) AppendPairs(text, {{"account", record.config.account}});
  AppendPairs(text, {{"iccid", record.Iccid()}, {"name", record.config.name}});
  // Config labels on every series: alerts built from any of them carry the labels that
  // Alertmanager routes by (team, customer, site).
  for (const auto& [name, value] : record.config.labels) AppendPairs(text, {{name, value}});
  text.erase(0, 1);  // the first pair needs no comma
  labels.EndPart(RenderedLabels::kIdentity);

  const EsimStatus* known = record.status ? &*record.status : nullptr;
  const auto esim_id = record.EsimId();
  const std::string esim_id_text = esim_id ? std::to_string(*esim_id) : std::string();
  AppendPairs(text, {{"esim_status", known ? Text(known->esim_status) : ""},
                     {"smdp_status", known ? Text(known->smdp_status) : ""},
                     {"profile", known ? Text(known->profile) : ""},
                     {"esim_id", esim_id_text}});
  labels.EndPart(RenderedLabels::kInfo);

  if (known != nullptr && known->last_network.HasAny()) {
    const NetworkInfo& n = known->last_network;
    AppendPairs(text, {{"operator", Text(n.operator_name)},
                       {"mcc", Text(n.mcc)},
                       {"mnc", Text(n.mnc)},
                       {"country", Text(n.country)},
                       {"country_iso2", Text(n.country_iso2)},
                       {"connection_type", Text(n.connection_type)}});
  }
  labels.EndPart(RenderedLabels::kNetwork);
  const bool device = known != nullptr && known->device.HasAny();
  if (device) AppendPairs(text, {{"model", Text(known->device.model)}});
  labels.EndPart(RenderedLabels::kDeviceModel);
  if (device) AppendPairs(text, {{"imei", Text(known->device.imei)}});
  labels.EndPart(RenderedLabels::kDeviceImei);
  if (const InstallationFacts& facts = record.Installation(); facts.eid || facts.imsi) {
    AppendPairs(text, {{"eid", Text(facts.eid)}, {"imsi", Text(facts.imsi)}});
  }
  labels.EndPart(RenderedLabels::kSubscriber);
  if (record.package) {
    const PackageInfo& p = *record.package;
    AppendPairs(text,
                {{"package_code", p.code}, {"package_name", p.name}, {"countries", p.countries}});
  }
  labels.EndPart(RenderedLabels::kPackage);
  text.shrink_to_fit();  // kept as long as the record: no growth slack
  return labels;
}

}  // namespace esim
