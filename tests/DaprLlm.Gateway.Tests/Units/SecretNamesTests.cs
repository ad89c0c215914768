using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using DaprLlm.Contracts;
using DaprLlm.Gateway.Tenants;

namespace DaprLlm.Gateway.Tests.Units;

/// <summary>Every secret name the apps read must exist in Azure Key Vault (components/cloud) and in the local file store.</summary>
public sealed partial class SecretNamesTests
{
    // Key Vault's rule for secret names, written out here rather than taken from SecretNames.Pattern.
    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex KeyVaultName();

    private static IReadOnlyList<string> Declared() =>
        typeof(SecretNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name != nameof(SecretNames.Pattern))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();

    [Fact]
    public void Every_declared_secret_name_is_a_valid_key_vault_name()
    {
        var names = Declared();
        Assert.NotEmpty(names);
        Assert.All(names, name => Assert.Matches(KeyVaultName(), name));
        Assert.All(names, name => Assert.True(SecretNames.IsValid(name), name));
    }

    [Fact]
    public void The_secrets_the_gateway_reads_are_declared_and_valid_key_vault_names()
    {
        foreach (var name in new[] { GatewaySecrets.PepperName, GatewaySecrets.AdminKeyName })
        {
            Assert.Matches(KeyVaultName(), name);
            Assert.Contains(name, Declared());
        }
    }

    [Fact]
    public void The_local_dev_secrets_file_holds_exactly_the_declared_names_as_flat_keys()
    {
        // A nested object would be flattened with the store's nestedSeparator (':'), a name Key Vault cannot hold.
        using var file = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.Root, "components", "local", "secrets.dev.json")));
        var keys = file.RootElement.EnumerateObject().ToList();
        Assert.All(keys, k => Assert.Equal(JsonValueKind.String, k.Value.ValueKind));
        Assert.Equal(Declared().Order(StringComparer.Ordinal), keys.Select(k => k.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("gateway:adminKey", false)]
    [InlineData("audit_key", false)]
    [InlineData("", false)]
    [InlineData("gateway-admin-key", true)]
    public void Names_with_characters_key_vault_refuses_are_invalid(string name, bool valid) =>
        Assert.Equal(valid, SecretNames.IsValid(name));
}
