// The text `esim_exporter --webhook.show` prints: the API key's webhook subscription as
// GET /webhooks answers it, for people. Read only; the signing secret is not part of the
// answer and never printed. Pure function; thread safe.
#pragma once

#include <string>

#include "webhook_subscription.h"

namespace esim {

// `public_url`: webhook.public_url (empty: not compared). Text from the API is printed with
// control characters replaced, so that a hostile answer cannot drive the terminal.
std::string FormatWebhookSubscription(const WebhookSubscription& subscription,
                                      const std::string& public_url);

}  // namespace esim
