using System.Text.Json.Serialization;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Tenancy;

/// <summary>Source-generated JSON for the sign-in, tenant, user, quota, usage and audit APIs (snake_case, nulls omitted).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(AntiforgeryTokenObject))]
[JsonSerializable(typeof(MeObject))]
[JsonSerializable(typeof(Admin.TenantRequest))]
[JsonSerializable(typeof(Admin.TenantObject))]
[JsonSerializable(typeof(Admin.TenantList))]
[JsonSerializable(typeof(Admin.UserRequest))]
[JsonSerializable(typeof(Admin.UserObject))]
[JsonSerializable(typeof(Admin.UserList))]
[JsonSerializable(typeof(Admin.LimitsObject))]
[JsonSerializable(typeof(Admin.AuditList))]
[JsonSerializable(typeof(Admin.AuditVerificationObject))]
[JsonSerializable(typeof(UsageRecordList))]
[JsonSerializable(typeof(UsageGroupList))]
internal sealed partial class TenancyJsonContext : JsonSerializerContext;
