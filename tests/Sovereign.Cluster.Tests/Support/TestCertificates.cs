using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sovereign.Cluster.Tests.Support;

/// <summary>Certificates made in the test: an organisation CA, node certificates it signs, and self-signed ones.</summary>
internal static class TestCertificates
{
    public static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = Request(name, key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public static X509Certificate2 SignedBy(X509Certificate2 ca, string name)
    {
        using var key = RSA.Create(2048);
        var request = Request(name, key);
        var serial = RandomNumberGenerator.GetBytes(16);
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        return cert.CopyWithPrivateKey(key);
    }

    /// <summary>Writes a PKCS#12 file with the key, as an operator would hand one to a node.</summary>
    public static string WritePfx(X509Certificate2 certificate, string folder, string password)
    {
        var path = Path.Combine(folder, $"node-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    private static CertificateRequest Request(string name, RSA key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }
}
