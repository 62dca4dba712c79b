// Private pieces shared by the classification sources.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace vigil::sensor::classify {

enum class ValidatorKind {
  kPersonalId,
  kOldId,
  kMobile,
  kTaxCode,
  kSocialInsurance,
  kHealthInsurance,
  kPaymentCard,
  kPassport,
  kStamp,
};

inline constexpr std::pair<std::string_view, ValidatorKind> kValidators[] = {
    {"personal-id", ValidatorKind::kPersonalId},
    {"old-id", ValidatorKind::kOldId},
    {"mobile", ValidatorKind::kMobile},
    {"tax-code", ValidatorKind::kTaxCode},
    {"social-insurance", ValidatorKind::kSocialInsurance},
    {"health-insurance", ValidatorKind::kHealthInsurance},
    {"payment-card", ValidatorKind::kPaymentCard},
    {"passport", ValidatorKind::kPassport},
    {"stamp", ValidatorKind::kStamp},
};

std::optional<ValidatorKind> validator_kind(std::string_view name);

inline constexpr uint32_t kMaxContextWindow = 128;

}  // namespace vigil::sensor::classify
