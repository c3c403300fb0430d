// The signature of an eSIMfly webhook delivery (docs/esimfly-api.md, "Webhooks"):
// X-Webhook-Signature is "sha256=" + lowercase hex HMAC-SHA256 of the raw body bytes, keyed
// with the subscription's webhook secret. Pure functions; thread safe.
#pragma once

#include <string>
#include <string_view>

namespace esim {

// "sha256=" + lowercase hex HMAC-SHA256(secret, body): what the vendor sends (and the fake API).
std::string WebhookSignature(std::string_view secret, std::string_view body);

// True when `header` is exactly the signature of `body` under `secret`. The comparison of the
// MAC takes the same time wherever the first difference is (CRYPTO_memcmp), so that timing
// does not reveal how much of a forged signature was right. An empty secret never matches.
bool VerifyWebhookSignature(std::string_view secret, std::string_view body,
                            std::string_view header);

}  // namespace esim
