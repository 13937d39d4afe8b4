import { describe, expect, it } from "vitest";
import { recipientsOf } from "./Notifications";

describe("recipientsOf", () => {
  it("takes ids one per line, by commas or spaces, each once", () => {
    expect(recipientsOf("cust-ada\ncust-bo, cust-cy  cust-ada\n\n")).toEqual(["cust-ada", "cust-bo", "cust-cy"]);
  });

  it("is empty for blank text", () => {
    expect(recipientsOf(" \n, ")).toEqual([]);
  });
});
