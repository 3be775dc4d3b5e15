/** The minted token's permissions: looked up by name, scoped to the account, never silently weaker. */
import { expect, test } from "vitest";
import { permissionGroupIds, tokenPolicy } from "../../components/gateway-token";

const groups = [
  { id: "g-read", name: "AI Gateway Read" },
  { id: "g-run", name: "AI Gateway Run" },
  { id: "g-wai", name: "Workers AI Read" },
];
const wanted = ["AI Gateway Run", "Workers AI Read"];

test("picks the AI Gateway Run and Workers AI Read group ids by name", () => {
  expect(permissionGroupIds(groups, wanted)).toEqual(["g-run", "g-wai"]);
});

test("fails rather than mint a token without a permission the Worker needs", () => {
  expect(() => permissionGroupIds(groups.slice(0, 2), wanted)).toThrow('permission group "Workers AI Read" is not offered');
});

test("scopes the policy to the one account", () => {
  expect(tokenPolicy("abc", ["g-run"])).toEqual({
    effect: "allow",
    permissionGroups: [{ id: "g-run" }],
    resources: '{"com.cloudflare.api.account.abc":"*"}',
  });
});
