using Microsoft.AspNetCore.Http;
using Sovereign.Core.Errors;
using Sovereign.Server.Auth;

namespace Sovereign.Server.Admin;

/// <summary>
/// Who may do what under <c>/admin</c> beyond the admin scope (which the authentication middleware already requires).
/// The operator is an admin of the default tenant: the organisation running the installation. Only the operator
/// manages tenants and their limits, creates keys for other tenants and checks the whole audit chain.
/// </summary>
internal static class AdminAccess
{
    public static bool IsOperator(ApiPrincipal principal) => principal.TenantId == Tenants.Default && principal.HasScope(ApiKeyScopes.Admin);

    public static ApiPrincipal RequireOperator(HttpContext context)
    {
        var principal = context.GetRequiredApiPrincipal();
        if (!IsOperator(principal))
        {
            throw new SovereignException(ErrorKind.Forbidden,
                "Only an administrator of the default tenant (the operator of this installation) may do this.", code: "operator_only");
        }
        return principal;
    }
}
