/** Who a link is linked to, as the provider names them. */
export interface Account {
  /** The provider's stable id for the person. */
  id: string;
  /** A name to show: the display name, login or e-mail, else the id. */
  name: string;
}
