namespace Sovereign.Server.Tenancy;

/// <summary>Web sign-in settings, under <c>Sovereign:Auth</c>. Read once at start-up.</summary>
public sealed class AuthOptions
{
    public const string Section = "Sovereign:Auth";

    /// <summary>Wrong passwords in a row before the account is locked. Default 5.</summary>
    public int MaxFailedSignIns { get; set; } = 5;

    /// <summary>How long a locked account stays locked. Default 15 minutes.</summary>
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a session cookie lasts (sliding). Default 8 hours.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>The first owner's password for automated deployments; none is generated or written then.</summary>
    public string? InitialOwnerPassword { get; set; }

    /// <summary>Optional OpenID Connect sign-in through the organisation's own identity provider.</summary>
    public OidcOptions Oidc { get; set; } = new();
}

/// <summary>
/// OpenID Connect to the organisation's identity provider (<c>Sovereign:Auth:Oidc</c>); off unless
/// <see cref="Authority"/> and <see cref="ClientId"/> are set. The authority's host is added to the outbound allow-list.
/// </summary>
public sealed class OidcOptions
{
    /// <summary>The provider's issuer URL, e.g. <c>https://idp.hospital.local/realms/staff</c>.</summary>
    public string? Authority { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }

    /// <summary>The tenant that people signing in through this provider for the first time join (as members). Default "default".</summary>
    public string Tenant { get; set; } = "default";

    /// <summary>Allows an http:// authority (a lab setup); production providers use https. Default false.</summary>
    public bool AllowHttp { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) && !string.IsNullOrWhiteSpace(ClientId);
}
