// How live answers and listed entries combine into one EsimRecord's `status`: each field group
// (usage, lifecycle status, validity) holds its newest observation, live-only fields (network,
// device, installation state) come from live answers alone, and a listed usage that is only the
// list's rounding of a live value (whole MB against GB with decimals) does not replace it.
// Thread safety: pure functions of their arguments.
#pragma once

#include "esim_status.h"
#include "state_store.h"

namespace esim {

// The list's unit: listed values are whole MB, so a live value and its listed copy differ by
// less than this.
inline constexpr double kListRoundingBytes = 1024.0 * 1024.0;

// The observation time of an answer to a request sent at `requested` (Unix seconds): half a
// millisecond before the whole millisecond the request was sent in. The API may have taken its
// values at any moment while the request was on its way, and webhook events are stamped in whole
// milliseconds: so an event created after the request was sent always counts as newer than the
// answer (a slow answer does not undo it), and one created a millisecond before as older.
double AnswerObservedAt(double requested);

// Merges a successful live answer observed at `observed` (Unix seconds).
void MergeLive(EsimRecord& record, const EsimStatus& live, double observed);

// Merges a listed entry observed at `observed` and received at `now`; also takes the listing's
// ids, package and listing time (`now`).
void MergeListed(EsimRecord& record, const ListedEsim& listed, double observed, double now);

// Merges one webhook event whose observation time is `observed`: usage (esim.usage.threshold),
// lifecycle status and expiry (esim.status.changed), installation time and EID/IMSI
// (esim.installed), profile state (esim.profile.updated). A field group observed later by any
// source (live, list, event) stays as it is.
void MergeEvent(EsimRecord& record, const WebhookEvent& event, double observed);

}  // namespace esim
