using MassTransit;

namespace Decommission.Deployment.Tests;

public sealed class DependencyLicenceTests
{
    [Fact]
    public void MassTransit_in_use_is_the_apache_licensed_8_x()
    {
        // MassTransit 9 is commercially licensed; a loose version range silently resolves to it.
        var version = typeof(IBus).Assembly.GetName().Version!;
        Assert.Equal(8, version.Major);
    }
}
