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
}
