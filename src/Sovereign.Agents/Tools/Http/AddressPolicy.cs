using System.Net;
using System.Net.Sockets;

namespace Sovereign.Agents.Tools.Http;

/// <summary>
/// Which resolved addresses the HTTP tool may connect to. Public addresses of allowed hosts: yes. Loopback, private,
/// link-local, unique-local, carrier-grade NAT and reserved addresses: only for hosts explicitly allowed to be internal.
/// Cloud metadata endpoints: never. Pure and thread-safe.
/// </summary>
public static class AddressPolicy
{
    private static readonly IPAddress[] Metadata =
    [
        IPAddress.Parse("169.254.169.254"), // AWS, GCP, Azure, OpenStack
        IPAddress.Parse("169.254.170.2"),   // AWS ECS task credentials
        IPAddress.Parse("100.100.100.200"), // Alibaba Cloud
        IPAddress.Parse("fd00:ec2::254"),   // AWS over IPv6
    ];

    private static readonly (IPAddress Network, int Prefix, string Kind)[] Special =
    [
        (IPAddress.Parse("0.0.0.0"), 8, "an unspecified ('this network') address"),
        (IPAddress.Parse("10.0.0.0"), 8, "a private address"),
        (IPAddress.Parse("100.64.0.0"), 10, "a carrier-grade NAT address"),
        (IPAddress.Parse("127.0.0.0"), 8, "a loopback address"),
        (IPAddress.Parse("169.254.0.0"), 16, "a link-local address"),
        (IPAddress.Parse("172.16.0.0"), 12, "a private address"),
        (IPAddress.Parse("192.0.0.0"), 24, "an IETF protocol address"),
        (IPAddress.Parse("192.168.0.0"), 16, "a private address"),
        (IPAddress.Parse("198.18.0.0"), 15, "a benchmarking address"),
        (IPAddress.Parse("224.0.0.0"), 4, "a multicast address"),
        (IPAddress.Parse("240.0.0.0"), 4, "a reserved address"),
        (IPAddress.Parse("::"), 128, "an unspecified address"),
        (IPAddress.Parse("::1"), 128, "a loopback address"),
        (IPAddress.Parse("fe80::"), 10, "a link-local address"),
        (IPAddress.Parse("fec0::"), 10, "a site-local address"),
        (IPAddress.Parse("fc00::"), 7, "a unique-local address"),
        (IPAddress.Parse("ff00::"), 8, "a multicast address"),
    ];

    /// <summary>Null when <paramref name="address"/> may be reached; otherwise why not ("a loopback address").</summary>
    /// <param name="internalAllowed">The host was explicitly allowed to be internal (listed as an IP literal or in InternalHosts).</param>
    public static string? Refusal(IPAddress address, bool internalAllowed)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (Metadata.Any(m => m.Equals(address))) return "a cloud metadata address, which is never reachable";
        if (internalAllowed) return null;
        var kind = SpecialKind(address);
        return kind is null ? null : $"{kind}, which the HTTP tool reaches only for hosts allowed as internal (Sovereign:Agents:Http:InternalHosts)";
    }

    /// <summary>"a private address" and the like, or null for an ordinary public address.</summary>
    public static string? SpecialKind(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var (network, prefix, kind) in Special)
        {
            if (network.AddressFamily == address.AddressFamily && InNetwork(address, network, prefix)) return kind;
        }
        return null;
    }

    private static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        Span<byte> a = stackalloc byte[16];
        Span<byte> n = stackalloc byte[16];
        address.TryWriteBytes(a, out var length);
        network.TryWriteBytes(n, out _);
        for (var bit = 0; bit < prefix && bit < length * 8; bit += 8)
        {
            var bits = Math.Min(8, prefix - bit);
            var mask = (byte)(0xFF << (8 - bits));
            if ((a[bit / 8] & mask) != (n[bit / 8] & mask)) return false;
        }
        return address.AddressFamily == AddressFamily.InterNetwork || address.AddressFamily == AddressFamily.InterNetworkV6;
    }
}
