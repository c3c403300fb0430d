// bcrypt hashes for tests of basic auth, made by libcrypt itself.
#pragma once

#include <string>

namespace esim_test {

// A fresh-salted $2b$ hash of `password`; cost 5 keeps tests fast, 10 is what people configure.
std::string BcryptHash(const std::string& password, int cost = 5);

}  // namespace esim_test
