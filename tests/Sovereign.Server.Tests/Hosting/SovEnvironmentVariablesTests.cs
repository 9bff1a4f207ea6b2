using System.Collections;
using Sovereign.Server.Hosting;

namespace Sovereign.Server.Tests.Hosting;

public sealed class SovEnvironmentVariablesTests
{
    [Fact]
    public void Sov_variables_map_onto_the_Sovereign_section()
    {
        var map = SovEnvironmentVariables.Map(new Hashtable
        {
            ["SOV_HOME"] = "/srv/sov",
            ["SOV_ADMIN_KEY"] = "sov-secret-0123456789",
            ["SOV_ENGINE__CONTEXT_SIZE"] = "4096",
            ["SOV_ALLOWED_HOSTS__0"] = "mirror.local",
            ["PATH"] = "/usr/bin",
            ["SOV_"] = "nothing",
        });

        Assert.Equal(new Dictionary<string, string?>
        {
            ["Sovereign:HOME"] = "/srv/sov",
            ["Sovereign:ADMINKEY"] = "sov-secret-0123456789",
            ["Sovereign:ENGINE:CONTEXTSIZE"] = "4096",
            ["Sovereign:ALLOWEDHOSTS:0"] = "mirror.local",
        }, map);
    }

    [Fact]
    public void A_comma_separated_list_variable_becomes_one_entry_per_host()
    {
        var map = SovEnvironmentVariables.Map(new Hashtable
        {
            ["SOV_ALLOWED_HOSTS"] = "tools.internal, mirror.internal:5000,,",
            ["SOV_MIRRORS"] = "http://node-a:8080",
        });

        Assert.Equal(new Dictionary<string, string?>
        {
            ["Sovereign:ALLOWEDHOSTS:0"] = "tools.internal",
            ["Sovereign:ALLOWEDHOSTS:1"] = "mirror.internal:5000",
            ["Sovereign:MIRRORS:0"] = "http://node-a:8080",
        }, map);
    }
}
